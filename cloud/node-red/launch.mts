/**
 * Starts Node-RED as a child process with the fieldline palette, the fieldline settings file and
 * one flow file, in its own user dir, on a loopback port. Used by the tests and by the demo.
 * It builds the palette's bundle of the contract first (build.mjs, from the TypeScript source),
 * so Node-RED loads the palette exactly as the published package ships it. A development tool,
 * not part of the published package.
 */
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { copyFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ManagedProcess, freePort, tempDir } from '@fieldline/harness';
import { buildPalette } from './build.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '../..');
const require = createRequire(import.meta.url);

export const DEFAULT_FLOW_FILE = join(repoRoot, 'deploy/node-red/flows.json');
export const DEFAULT_SETTINGS_FILE = join(repoRoot, 'deploy/node-red/settings.cjs');

export interface NodeRedOptions {
  /** Editor and admin API password (becomes FL_NODE_RED_PASSWORD; bcrypt-hashed by the settings). */
  adminPassword: string;
  /** Key that encrypts the credentials file (FL_NODE_RED_CREDENTIAL_SECRET). */
  credentialSecret: string;
  /** @default 'admin' */
  adminUser?: string;
  /** Flow file, copied into the user dir as `flows.json`. @default deploy/node-red/flows.json */
  flowFile?: string;
  /** Node credentials by node id (e.g. the fieldline-config's `apiToken`), written encrypted. */
  credentials?: Record<string, Record<string, string>>;
  /** Extra environment for the flows: FL_NATS_URL, FL_API_URL, FL_ALERT_WEBHOOK_URL, … */
  env?: Record<string, string>;
  /** Listen address (the demo may open it to the LAN; the editor still needs the password). @default '127.0.0.1' */
  host?: string;
  /** @default a free port */
  port?: number;
  /** @default a temp dir, removed at cleanup */
  userDir?: string;
  /** @default deploy/node-red/settings.cjs */
  settingsFile?: string;
  /** @default 60000 (Node-RED loads slowly on a busy machine) */
  readyTimeoutMs?: number;
}

export interface NodeRedProcess {
  /** `http://127.0.0.1:{port}` (editor, admin API and HTTP-in nodes). */
  readonly url: string;
  readonly port: number;
  readonly userDir: string;
  /** The Node-RED process id (for RSS figures). */
  readonly pid: number | undefined;
  /** Tail of Node-RED's stdout and stderr. */
  readonly log: string;
  /** A bearer token for the admin API, from `POST /auth/token` with the admin password. */
  adminToken(): Promise<string>;
  close(): Promise<void>;
}

/** Node-RED's own format for `flows_cred.json`: aes-256-ctr, key = sha256(credentialSecret). */
export function encryptCredentials(secret: string, credentials: Record<string, Record<string, string>>): { $: string } {
  const key = createHash('sha256').update(secret).digest();
  const iv = randomBytes(16);
  const cipher = createCipheriv('aes-256-ctr', key, iv);
  return { $: iv.toString('hex') + cipher.update(JSON.stringify(credentials), 'utf8', 'base64') + cipher.final('base64') };
}

export async function startNodeRed(opts: NodeRedOptions): Promise<NodeRedProcess> {
  const port = opts.port ?? (await freePort());
  const userDir = opts.userDir ?? tempDir('node-red');
  const adminUser = opts.adminUser ?? 'admin';
  copyFileSync(opts.flowFile ?? DEFAULT_FLOW_FILE, join(userDir, 'flows.json'));
  if (opts.credentials) {
    writeFileSync(join(userDir, 'flows_cred.json'), JSON.stringify(encryptCredentials(opts.credentialSecret, opts.credentials)));
  }
  await buildPalette();
  const redJs = join(dirname(require.resolve('node-red/package.json')), 'red.js');
  const proc = new ManagedProcess({
    name: `node-red:${port}`,
    command: process.execPath,
    args: [redJs, '--userDir', userDir, '--settings', opts.settingsFile ?? DEFAULT_SETTINGS_FILE, '--port', String(port)],
    cwd: userDir,
    env: {
      ...process.env,
      ...opts.env,
      FL_NODE_RED_HOST: opts.host ?? '127.0.0.1',
      FL_NODE_RED_PORT: String(port),
      FL_NODE_RED_USER: adminUser,
      FL_NODE_RED_PASSWORD: opts.adminPassword,
      FL_NODE_RED_CREDENTIAL_SECRET: opts.credentialSecret,
    },
    // Node-RED listens only once its flows are started; the login scheme needs no credentials.
    ready: async () => (await fetch(`http://127.0.0.1:${port}/auth/login`, { signal: AbortSignal.timeout(1000) })).ok,
    readyTimeoutMs: opts.readyTimeoutMs ?? 60_000,
    keepOutput: 64 * 1024,
  });
  await proc.start();
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    port,
    userDir,
    get pid() {
      return proc.pid;
    },
    get log() {
      return proc.log;
    },
    async adminToken() {
      const res = await fetch(`${url}/auth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ client_id: 'node-red-admin', grant_type: 'password', scope: '*', username: adminUser, password: opts.adminPassword }),
      });
      if (!res.ok) throw new Error(`Node-RED ${url}/auth/token answered ${res.status}`);
      return ((await res.json()) as { access_token: string }).access_token;
    },
    close: () => proc.stop(),
  };
}
