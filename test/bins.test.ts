// Every bin: --help and --version exit 0; a bad config exits 78 naming the key on one stderr
// line; an unknown command exits 64 (runtime's CLI conventions, sysexits).
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanupAll, tempDir } from '@fieldline/harness';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from './import-rules.js';

afterAll(cleanupAll);

interface Bin {
  name: string;
  cli: string;
  pkg: string;
  /** Arguments that run it with a config file. */
  run: (config: string) => string[];
  bad: string;
  key: RegExp;
}

const BINS: Bin[] = [
  { name: 'fieldline-sim', cli: 'firmware-sim/src/cli.ts', pkg: 'firmware-sim', run: (f) => ['run', f], bad: 'name: x\ndevices:\n  - id: d\n    boards: [{ id: b, protocol: morse, channels: [{ name: t, model: temperature }] }]\n', key: /devices\[0\]\.boards\[0\]\.protocol: / },
  { name: 'fieldline-edge', cli: 'edge/src/cli.ts', pkg: 'edge', run: (f) => ['run', '--config', f], bad: 'device: Pi 1\nmqtt: { url: "mqtt://127.0.0.1:1" }\n', key: /device: must match/ },
  { name: 'fieldline-gateway', cli: 'gateway/src/cli.ts', pkg: 'gateway', run: (f) => ['run', '--config', f], bad: 'auth: { registryFile: d.json }\nmqtt: { port: "1883" }\n', key: /mqtt\.port: expected number, got string/ },
  { name: 'fieldline-cloud', cli: 'cloud/src/cli.ts', pkg: 'cloud', run: (f) => ['processor', '--config', f], bad: 'windows: { gapMs: soon }\n', key: /windows\.gapMs: expected number, got string/ },
  { name: 'fieldline-cloud', cli: 'cloud/src/cli.ts', pkg: 'cloud', run: (f) => ['api', '--config', f], bad: 'limits: { maxPoints: many }\n', key: /limits\.maxPoints: expected number, got string/ },
  { name: 'fieldline-cloud', cli: 'cloud/src/cli.ts', pkg: 'cloud', run: (f) => ['evaluate', '--scenario', 'anomalies', '--config', f], bad: 'alerts: { clearReadings: 0 }\n', key: /alerts\.clearReadings: / },
  { name: 'fieldline-cloud', cli: 'cloud/src/cli.ts', pkg: 'cloud', run: (f) => ['replay', '--config', f, '--from', '1', '--into', 'replayed'], bad: 'coordination: { leaseMs: soon }\n', key: /coordination\.leaseMs: expected number, got string/ },
];

function run(cli: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--conditions=fieldline-src', '--import', 'tsx', join(ROOT, cli), ...args], { cwd: ROOT, timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
    );
  });
}

describe('every bin follows the CLI conventions', () => {
  for (const bin of BINS) {
    const what = `${bin.name} ${bin.run('FILE').join(' ')}`;
    it(`${what}: --help, --version, a bad config (78) and an unknown command (64)`, async () => {
      const version = (JSON.parse(readFileSync(join(ROOT, bin.pkg, 'package.json'), 'utf8')) as { version: string }).version;
      const help = await run(bin.cli, ['--help']);
      expect(help.code, help.stderr).toBe(0);
      expect(help.stdout).toMatch(new RegExp(`^usage:|${bin.name}`));
      const v = await run(bin.cli, ['--version']);
      expect([v.code, v.stdout.trim()]).toEqual([0, version]);
      const file = join(tempDir('bins'), 'bad.yaml');
      writeFileSync(file, bin.bad);
      const bad = await run(bin.cli, bin.run(file));
      expect(bad.code, bad.stderr).toBe(78);
      expect(bad.stderr.trim().split('\n'), bad.stderr).toHaveLength(1);
      expect(bad.stderr).toMatch(new RegExp(`^${bin.name}: `));
      expect(bad.stderr).toMatch(bin.key);
      const unknown = await run(bin.cli, ['frobnicate', '--config', file]);
      expect(unknown.code, unknown.stderr).toBe(64);
    });
  }
});

describe('a subcommand with its own usage', () => {
  it('fieldline-cloud evaluate --help prints evaluate\'s usage; a bad option exits 64', async () => {
    const help = await run('cloud/src/cli.ts', ['evaluate', '--help']);
    expect(help.code, help.stderr).toBe(0);
    expect(help.stdout).toMatch(/^usage:\n  fieldline-cloud evaluate <data-dir> --labels/);
    const bad = await run('cloud/src/cli.ts', ['evaluate', '--scenario', 'anomalies', '--duration', 'soon']);
    expect(bad.code, bad.stderr).toBe(64);
    expect(bad.stderr).toMatch(/^fieldline-cloud: --duration: expected e\.g\. 90s/);
  });

  it('fieldline-cloud replay --help prints replay\'s usage; a bad range exits 64', async () => {
    const help = await run('cloud/src/cli.ts', ['replay', '--help']);
    expect(help.code, help.stderr).toBe(0);
    expect(help.stdout).toMatch(/^usage: fieldline-cloud replay --config <processor\.yaml> --from <time\|seq>/);
    const bad = await run('cloud/src/cli.ts', ['replay', '--config', 'x.yaml', '--from', 'yesterday', '--into', 'r']);
    expect(bad.code, bad.stderr).toBe(64);
    expect(bad.stderr).toMatch(/^fieldline-cloud: --from: expected a stream sequence or an ISO 8601 time, got "yesterday"/);
  });
});
