import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cleanupAll, tempDir } from '@fieldline/harness';
import { afterAll, describe, expect, it } from 'vitest';
import { DeviceRegistry } from '../src/index.js';
import { run } from './helpers.js';

const CLI = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const cli = (...args: string[]) => run(process.execPath, ['--conditions=fieldline-src', '--import', 'tsx', CLI, ...args], 30_000, undefined, ROOT);

afterAll(() => cleanupAll());

describe('fieldline-gateway CLI', () => {
  it('devices add | list | revoke manage the registry; only hashes are stored', async () => {
    const registry = join(tempDir('gwcli'), 'devices.json');
    const added = await cli('devices', 'add', 'pump-7', '--registry', registry);
    expect(added.code, added.stderr).toBe(0);
    const password = added.stdout.match(/^password: (\S+)$/m)?.[1];
    expect(password).toBeDefined();
    expect(readFileSync(registry, 'utf8')).not.toContain(password!);
    expect(await new DeviceRegistry(registry).verify('pump-7', Buffer.from(password!))).toBe('ok');

    expect((await cli('devices', 'list', '--registry', registry)).stdout).toMatch(/^pump-7\tpassword\t\S+\tactive$/m);
    expect((await cli('devices', 'revoke', 'pump-7', '--registry', registry)).code).toBe(0);
    expect((await cli('devices', 'list', '--registry', registry)).stdout).toMatch(/^pump-7\tpassword\t\S+\trevoked /m);
    expect(await new DeviceRegistry(registry).verify('pump-7', Buffer.from(password!))).toBe('revoked');
  });

  it('refuses an invalid device id and an invalid config with clear errors', async () => {
    const dir = tempDir('gwcli');
    const bad = await cli('devices', 'add', 'Pump 7', '--password', 'long-enough-pw', '--registry', join(dir, 'd.json'));
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/deviceId: device id "Pump 7" must be lower case/);
    const config = join(dir, 'gw.yaml');
    writeFileSync(config, 'auth: { registryFile: d.json }\nmqtt: { port: "1883" }\n');
    const start = await cli('run', '--config', config);
    expect(start.code).toBe(78);
    expect(start.stderr).toContain('mqtt.port: expected number, got string');
    expect(start.stderr.trim().split('\n')).toHaveLength(1);
    const usage = await cli('devices', 'frob', '--registry', join(dir, 'd.json'));
    expect(usage.code).toBe(64);
  });
});
