import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { cleanupAll, PtyPair, tempDir } from '@fieldline/harness';
import { loadEdgeConfig } from '../src/index.js';
import { preflight } from '../src/preflight.js';

afterAll(() => cleanupAll());

const root = join(new URL('.', import.meta.url).pathname, '../..');
const pexec = promisify(execFile);

async function edgeCli(args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await pexec(process.execPath, ['--conditions=fieldline-src', '--import', 'tsx', join(root, 'edge/src/cli.ts'), ...args], { cwd: root, timeout: 30_000 });
    return { stdout, stderr, code: 0 };
  } catch (err) {
    const e = err as { stdout: string; stderr: string; code: number };
    return { stdout: e.stdout, stderr: e.stderr, code: e.code };
  }
}

function configFile(dir: string, cfg: Record<string, unknown>): string {
  const file = join(dir, 'edge.yaml');
  writeFileSync(file, stringify({ device: 'pi-01', stateDir: join(dir, 'state'), ...cfg }));
  return file;
}

describe('check-config checks what run needs before it connects', () => {
  it('fails with exit 78 on a missing password file, and run refuses the same config with the same message', { timeout: 60_000 }, async () => {
    const dir = tempDir('edge-check');
    const missing = join(dir, 'mqtt-password');
    // The broker URL is never contacted: both commands stop before connecting.
    const file = configFile(dir, { mqtt: { url: 'mqtt://127.0.0.1:1', passwordFile: missing } });
    const check = await edgeCli(['check-config', file]);
    expect(check.code).toBe(78);
    expect(check.stderr).toContain(`mqtt.passwordFile: cannot read ${missing}: ENOENT`);
    const run = await edgeCli(['run', '--config', file]);
    expect(run.code).toBe(78);
    expect(run.stderr).toContain(`mqtt.passwordFile: cannot read ${missing}: ENOENT`);

    writeFileSync(missing, 's3cret\n');
    const ok = await edgeCli(['check-config', file]);
    expect(ok.stdout + ok.stderr).toMatch(/: OK \(device pi-01, 0 port\(s\): none; password file, TLS off, state dir .* writable\)/);
    expect(ok.code).toBe(0);
    // The password itself never appears.
    expect(ok.stdout + ok.stderr).not.toContain('s3cret');
  });

  it('names every other problem: TLS files, a file that is no certificate, a cert without key, an empty password, the state dir, a missing port', async () => {
    const dir = tempDir('edge-check');
    const pty = await PtyPair.create();
    const notDir = join(dir, 'a-file');
    writeFileSync(notDir, '');
    const emptyPw = join(dir, 'empty');
    writeFileSync(emptyPw, '\n');
    const badPem = join(dir, 'bad.pem');
    writeFileSync(badPem, 'not a certificate\n');
    const cfg = loadEdgeConfig({
      device: 'pi-01',
      stateDir: notDir,
      mqtt: { url: 'mqtts://gw.example.net:8883', passwordFile: emptyPw, tls: { ca: badPem, cert: join(dir, 'nope.crt') } },
      ports: [
        { id: 'here', path: pty.hostPath, driver: 'text-kv', channels: {} },
        { id: 'gone', path: join(dir, 'ttyUSB9'), driver: 'text-kv', channels: {} },
      ],
    });
    const { problems, portProblems } = preflight(cfg);
    expect(problems).toEqual([
      'mqtt.passwordFile: the password is empty',
      `mqtt.tls.cert: cannot read ${join(dir, 'nope.crt')}: ENOENT: no such file or directory, open '${join(dir, 'nope.crt')}'`,
      `stateDir: ${notDir} is not a directory`,
    ]);
    expect(portProblems).toEqual([`ports[1].path: ${join(dir, 'ttyUSB9')} does not exist (is the adapter plugged in? ls -l /dev/serial/by-id/)`]);

    const pemOnly = loadEdgeConfig({ device: 'pi-01', stateDir: join(dir, 's'), mqtt: { url: 'mqtts://gw:8883', tls: { ca: badPem } } });
    expect(preflight(pemOnly).problems).toEqual(['mqtt.tls.ca: no PEM certificate (-----BEGIN CERTIFICATE-----) in the file']);
    const certNoKey = loadEdgeConfig({ device: 'pi-01', stateDir: join(dir, 's'), mqtt: { url: 'mqtts://gw:8883', tls: { cert: badPem } } });
    expect(preflight(certNoKey).problems).toEqual(['mqtt.tls.key: a client certificate needs both cert and key']);

    // check-config fails on the missing port too (run only warns and keeps reopening it).
    const file = configFile(dir, { mqtt: { url: 'mqtt://127.0.0.1:1' }, ports: [{ id: 'gone', path: join(dir, 'ttyUSB9'), driver: 'text-kv', channels: {} }] });
    const res = await edgeCli(['check-config', file]);
    expect(res.code).toBe(78);
    expect(res.stderr).toContain('ports[0].path:');
    await pty.close();
  });
});
