import { accessSync, constants, existsSync, readFileSync, statSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import { dirname, join, resolve } from 'node:path';
import { readPassword, type EdgeConfig } from './config.js';
import { EdgeConfigError } from './errors.js';

/** What `run` checks before it connects, and `check-config` reports. */
export interface PreflightResult {
  /** Each one stops `run` (exit 78) and fails `check-config`: key path first. */
  problems: string[];
  /** Serial ports that are missing or not readable and writable: `run` logs them and keeps reopening
   *  (an adapter may be plugged in later); `check-config` fails on them. */
  portProblems: string[];
}

const why = (err: unknown): string => (err as Error).message;

/** Reads a PEM file the config points to; the error names the key. */
export function readPem(path: string | undefined, key: string): Buffer | undefined {
  if (!path) return undefined;
  try {
    return readFileSync(path);
  } catch (err) {
    throw new EdgeConfigError(`${key}: cannot read ${path}: ${why(err)}`, [`${key}: cannot read ${path}`], { cause: err });
  }
}

/** The TLS material from `mqtt.tls`, read as the MQTT client will use it. */
export function readTls(mqtt: EdgeConfig['mqtt']): { ca?: Buffer; cert?: Buffer; key?: Buffer } {
  return { ca: readPem(mqtt.tls?.ca, 'mqtt.tls.ca'), cert: readPem(mqtt.tls?.cert, 'mqtt.tls.cert'), key: readPem(mqtt.tls?.key, 'mqtt.tls.key') };
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g;

/** Node's TLS context skips text that is not a certificate; a CA file of junk would only fail at the handshake. */
function checkCertificates(pem: Buffer, key: string): void {
  const blocks = pem.toString('latin1').match(PEM_CERT) ?? [];
  if (blocks.length === 0) throw new EdgeConfigError(`${key}: no PEM certificate (-----BEGIN CERTIFICATE-----) in the file`);
  for (const [i, block] of blocks.entries()) {
    try {
      new X509Certificate(block);
    } catch (err) {
      throw new EdgeConfigError(`${key}: certificate ${i + 1} does not parse: ${why(err)}`, [], { cause: err });
    }
  }
}

function collect(problems: string[], fn: () => void): void {
  try {
    fn();
  } catch (err) {
    problems.push(err instanceof EdgeConfigError ? err.message : why(err));
  }
}

/** The state dir, its `queue/` and `state.json` can be written, or the dir can be created. */
function checkStateDir(dir: string): string | undefined {
  const abs = resolve(dir);
  if (existsSync(abs)) {
    if (!statSync(abs).isDirectory()) return `stateDir: ${abs} is not a directory`;
    for (const p of [abs, join(abs, 'queue')]) {
      if (!existsSync(p)) continue;
      try {
        accessSync(p, constants.W_OK | constants.X_OK);
      } catch {
        return `stateDir: ${p} is not writable by this user (uid ${process.getuid?.() ?? '?'})`;
      }
    }
    const state = join(abs, 'state.json');
    if (existsSync(state)) {
      try {
        accessSync(state, constants.R_OK | constants.W_OK);
      } catch {
        return `stateDir: ${state} is not readable and writable by this user`;
      }
    }
    return undefined;
  }
  let parent = dirname(abs);
  while (!existsSync(parent)) parent = dirname(parent);
  try {
    accessSync(parent, constants.W_OK | constants.X_OK);
  } catch {
    return `stateDir: ${abs} does not exist and ${parent} is not writable by this user, so it cannot be created`;
  }
  return undefined;
}

/**
 * Everything `run` needs before it connects: the password (file or env var), the TLS files (read
 * and loaded into a TLS context, so a wrong PEM or a key that does not match the certificate shows
 * here), a writable state dir, and serial ports that exist and can be opened for reading and writing.
 */
export function preflight(config: EdgeConfig): PreflightResult {
  const problems: string[] = [];
  collect(problems, () => {
    const pw = readPassword(config.mqtt);
    if (pw !== undefined && pw.length === 0) throw new EdgeConfigError(`${config.mqtt.passwordFile ? 'mqtt.passwordFile' : 'mqtt.passwordEnv'}: the password is empty`);
  });
  collect(problems, () => {
    const tls = readTls(config.mqtt);
    if (!!tls.cert !== !!tls.key) throw new EdgeConfigError(`mqtt.tls.${tls.cert ? 'key' : 'cert'}: a client certificate needs both cert and key`);
    for (const [name, pem] of [['ca', tls.ca], ['cert', tls.cert]] as const) if (pem) checkCertificates(pem, `mqtt.tls.${name}`);
    try {
      createSecureContext({ ca: tls.ca, cert: tls.cert, key: tls.key });
    } catch (err) {
      throw new EdgeConfigError(`mqtt.tls: the PEM files do not load: ${why(err)}`, [], { cause: err });
    }
  });
  collect(problems, () => {
    const url = new URL(config.mqtt.url);
    if (!url.hostname) throw new EdgeConfigError(`mqtt.url: ${config.mqtt.url} has no host`);
  });
  const state = checkStateDir(config.stateDir);
  if (state) problems.push(state);
  const portProblems: string[] = [];
  config.ports.forEach((p, i) => {
    try {
      accessSync(p.path, constants.R_OK | constants.W_OK);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      portProblems.push(
        code === 'ENOENT'
          ? `ports[${i}].path: ${p.path} does not exist (is the adapter plugged in? ls -l /dev/serial/by-id/)`
          : `ports[${i}].path: ${p.path} cannot be opened for reading and writing by this user (${code ?? why(err)}; is it in group dialout?)`,
      );
    }
  });
  return { problems, portProblems };
}
