import { execFileSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createServer, type TLSSocket } from 'node:tls';
import { afterAll, describe, expect, it } from 'vitest';
import { Aedes } from 'aedes';
import pino from 'pino';
import { parseEnvelope } from '@fieldline/contract';
import { cleanupAll, PtyPair, tempDir, waitFor } from '@fieldline/harness';
import { startEdge } from '../src/index.js';
import { testConfig } from './helpers.js';

afterAll(() => cleanupAll());

/** A throwaway CA, a server cert for 127.0.0.1 and a client cert for the device (openssl). */
function makePki(dir: string): void {
  const ssl = (...args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=fieldline-test-ca');
  for (const [name, cn, ext] of [
    ['server', '127.0.0.1', 'subjectAltName=IP:127.0.0.1'],
    ['client', 'dev-1', 'extendedKeyUsage=clientAuth'],
  ] as const) {
    ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`);
    writeFileSync(join(dir, `${name}.ext`), `${ext}\n`);
    ssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '1', '-extfile', `${name}.ext`);
  }
}

describe('MQTT over TLS', () => {
  it('verifies the broker with the configured CA, presents its client certificate and a password from a file (never logged)', async () => {
    const dir = tempDir('pki');
    makePki(dir);
    writeFileSync(join(dir, 'password'), 's3cret-pass\n');
    const broker = await Aedes.createBroker();
    const logins: Array<{ user?: string; pass?: string; cn?: string }> = [];
    broker.authenticate = (client, user, pass, cb) => {
      const cert = (client.conn as unknown as TLSSocket).getPeerCertificate?.();
      logins.push({ user, pass: pass?.toString(), cn: String(cert?.subject?.CN) });
      cb(null, pass?.toString() === 's3cret-pass');
    };
    const values: number[] = [];
    broker.on('publish', (p) => {
      if (p.topic.endsWith('/telemetry')) values.push(...parseEnvelope(p.payload as Buffer).readings.map((r) => r.value));
    });
    const server = createServer(
      { key: readFileSync(join(dir, 'server.key')), cert: readFileSync(join(dir, 'server.pem')), ca: readFileSync(join(dir, 'ca.pem')), requestCert: true, rejectUnauthorized: true },
      broker.handle,
    );
    // Port 0: the OS picks it as it binds, so no other test file can take it in between.
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const { port } = server.address() as AddressInfo;
    const pty = await PtyPair.create();
    const cfg = testConfig(`mqtts://127.0.0.1:${port}`, {
      ports: [{ id: 'p', path: pty.hostPath, driver: 'text-kv', channels: { n: { sensor: 'n' } } }],
    });
    cfg.mqtt.tls = { ca: join(dir, 'ca.pem'), cert: join(dir, 'client.pem'), key: join(dir, 'client.key'), rejectUnauthorized: true };
    cfg.mqtt.passwordFile = join(dir, 'password');
    const logLines: string[] = [];
    const logger = pino({ level: 'trace' }, { write: (line: string) => void logLines.push(line) });
    const edge = await startEdge(cfg, { logger });
    try {
      await waitFor(() => edge.health().connected && edge.health().ports.p!.open, { what: 'TLS connection' });
      const fd = openSync(pty.devicePath, 'w');
      writeSync(fd, 'n=42\r\n');
      closeSync(fd);
      await waitFor(() => values.includes(42), { what: 'reading over TLS' });
      expect(logins[0]).toEqual({ user: 'dev-1', pass: 's3cret-pass', cn: 'dev-1' });
      expect(logLines.length).toBeGreaterThan(2);
      expect(logLines.join('')).not.toContain('s3cret-pass');
    } finally {
      await edge.close();
      await pty.close();
      await new Promise<void>((r) => server.close(() => r()));
      await new Promise<void>((r) => broker.close(() => r()));
    }
  });
});
