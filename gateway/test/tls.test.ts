import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanupAll, findBinary, tempDir } from '@fieldline/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addDevice, revokeDevice } from '../src/index.js';
import { connectDevice, envelope, run, startRig, streamMessages, type Rig } from './helpers.js';

/** A throwaway CA, a server certificate for 127.0.0.1 and device certificates (CN = device id). */
function makePki(dir: string, devices: string[]): void {
  const ssl = (...args: string[]) => execFileSync(findBinary('openssl', 'openssl'), args, { cwd: dir, stdio: 'pipe' });
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=fieldline-test-ca');
  const sign = (name: string, cn: string, ext?: string) => {
    ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`);
    ssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', ...(ext ? ['-extfile', ext] : []));
  };
  execFileSync('sh', ['-c', 'printf "subjectAltName=IP:127.0.0.1,DNS:localhost\\n" > san.ext'], { cwd: dir });
  sign('server', 'localhost', 'san.ext');
  for (const d of devices) sign(d, d);
}

describe('TLS listener: passwords and client certificates (CN = device id)', () => {
  let rig: Rig;
  let pki: string;
  let url: string;
  beforeAll(async () => {
    pki = tempDir('pki');
    makePki(pki, ['dev-c', 'dev-revoked']);
    rig = await startRig(['dev-a'], {
      mqtt: { host: '127.0.0.1', port: 0, tls: { host: '127.0.0.1', port: 0, certFile: join(pki, 'server.crt'), keyFile: join(pki, 'server.key'), caFile: join(pki, 'ca.crt') } },
    });
    await addDevice(rig.registryFile, 'dev-revoked', null);
    await revokeDevice(rig.registryFile, 'dev-revoked');
    url = `mqtts://127.0.0.1:${rig.gateway.tlsPort}`;
  });
  afterAll(async () => {
    await rig?.close();
    cleanupAll();
  });

  const ca = () => readFileSync(join(pki, 'ca.crt'));
  const cert = (d: string) => ({ cert: readFileSync(join(pki, `${d}.crt`)), key: readFileSync(join(pki, `${d}.key`)) });

  it('a device with a password connects over TLS and its telemetry is stored', async () => {
    const c = await connectDevice(url, 'dev-a', { ca: ca() });
    await c.publishAsync('fl/v1/dev-a/telemetry', envelope('dev-a'), { qos: 1 });
    await c.endAsync();
    expect(await streamMessages(rig.nc, 'TELEMETRY')).toBe(1);
  });

  it('a device certificate alone authenticates its CN', async () => {
    const c = await connectDevice(url, 'dev-c', { ca: ca(), ...cert('dev-c'), username: undefined, password: undefined });
    await c.publishAsync('fl/v1/dev-c/telemetry', envelope('dev-c'), { qos: 1 });
    await c.endAsync();
  });

  it("a certificate for one device cannot claim another device's client id", async () => {
    await expect(connectDevice(url, 'dev-a', { ca: ca(), ...cert('dev-c'), username: undefined, password: undefined })).rejects.toThrow(/Not authorized/i);
  });

  it('a revoked device is refused even with a valid certificate', async () => {
    await expect(connectDevice(url, 'dev-revoked', { ca: ca(), ...cert('dev-revoked'), username: undefined, password: undefined })).rejects.toThrow(/Not authorized/i);
  });

  it('mosquitto_pub with a client certificate over TLS', async () => {
    const r = await run(findBinary('mosquitto_pub', 'mosquitto-clients'), [
      '-h', '127.0.0.1', '-p', String(rig.gateway.tlsPort), '-V', 'mqttv311', '-q', '1', '-i', 'dev-c',
      '--cafile', join(pki, 'ca.crt'), '--cert', join(pki, 'dev-c.crt'), '--key', join(pki, 'dev-c.key'),
      '-t', 'fl/v1/dev-c/telemetry', '-m', envelope('dev-c'),
    ]);
    expect(r.code, r.stderr).toBe(0);
  });
});
