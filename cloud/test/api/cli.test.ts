import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { cleanupAll, tempDir } from '@fieldline/harness';
import { loadApiConfig } from '../../src/api/index.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const TOKEN = 'cli-token-0123456789abcdef';

function run(config: string) {
  const file = join(tempDir('api-cli'), 'api.yaml');
  writeFileSync(file, config);
  const child = spawn(process.execPath, ['--conditions=fieldline-src', '--import', 'tsx', 'cloud/src/cli.ts', 'api', '--config', file], {
    cwd: ROOT,
    env: { ...process.env, FIELDLINE_API_TOKENS: TOKEN },
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exit, output: () => out };
}

afterAll(() => cleanupAll());

it('ships a sample config that validates', () => {
  expect(loadApiConfig(join(ROOT, 'cloud', 'config', 'api.example.yaml'))).toMatchObject({ port: 8080, nats: { statusBucket: 'fl_device_status' } });
});

it('`fieldline-cloud api` rejects a bad config with the key path and exit code 78', async () => {
  const { exit, output } = run('port: 0\nlimits: { maxPoints: "many" }\n');
  expect(await exit).toBe(78);
  expect(output()).toContain('limits.maxPoints: expected number, got string');
});

it('`fieldline-cloud api` serves until SIGTERM, never logging the token', async () => {
  const { child, exit, output } = run('port: 0\nops: { port: 0 }\ninflux: { api: v1, url: "http://127.0.0.1:9" }\n');
  const deadline = Date.now() + 45_000;
  let port: number | undefined;
  while (!port && Date.now() < deadline) {
    port = Number(/"port":(\d+),"influx"/.exec(output())?.[1]) || undefined;
    await new Promise((r) => setTimeout(r, 100));
  }
  expect(port, output()).toBeDefined();
  expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
  expect((await fetch(`http://127.0.0.1:${port}/api/v1/devices`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(502);
  child.kill('SIGTERM');
  expect(await exit).toBe(0);
  expect(output()).toContain('stopping api');
  expect(output()).not.toContain(TOKEN);
});
