import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupAll, tempDir } from '@fieldline/harness';
import { buildDeb } from '../src/packaging/build-deb.js';

afterAll(() => {
  // Never leave the package installed on the machine that ran the test.
  spawnSync('dpkg', ['--purge', 'fieldline-edge'], { stdio: 'ignore' });
  cleanupAll();
});

const run = (cmd: string, args: string[]): string => execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const isRoot = process.getuid?.() === 0;
// The installed command, by absolute path: npm puts the workspace's own bin first on PATH.
const installed = '/usr/bin/fieldline-edge';

describe('.deb package', () => {
  it('builds, installs with dpkg -i, runs --version and check-config, and its unit passes systemd-analyze verify', { timeout: 240_000 }, async () => {
    const deb = await buildDeb(tempDir('deb'));
    const info = run('dpkg-deb', ['-f', deb, 'Package', 'Architecture', 'Depends']);
    expect(info).toContain('Architecture: all');
    expect(info).toMatch(/Depends: nodejs \(>= 18\)/);
    const files = run('dpkg-deb', ['-c', deb]);
    for (const arch of ['linux-arm/', 'linux-arm64/', 'linux-x64/']) expect(files).toContain(`bindings-cpp/prebuilds/${arch}`);
    expect(files).not.toMatch(/node_modules\/(nats|@influxdata|node-red)\//);
    expect(files).toContain('./lib/systemd/system/fieldline-edge.service');
    expect(run('sh', ['-c', `dpkg-deb --ctrl-tarfile '${deb}' | tar -xO ./conffiles`])).toBe('/etc/fieldline/edge.yaml\n');
    if (!isRoot) throw new Error('dpkg -i needs root (CI runs as root)');
    run('dpkg', ['-i', deb]);
    const pkgVersion = (JSON.parse(run('cat', [join(new URL('..', import.meta.url).pathname, 'package.json')])) as { version: string }).version;
    expect(run(installed, ['--version']).trim()).toBe(pkgVersion);
    expect(run(installed, ['check-config'])).toMatch(/\/etc\/fieldline\/edge\.yaml: OK/);
    expect(run('id', ['-nG', 'fieldline'])).toContain('dialout');
    const bad = spawnSync(installed, ['check-config', '/nonexistent.yaml'], { encoding: 'utf8' });
    expect(bad.status).toBe(78);
    expect(bad.stderr).toContain('cannot read edge config /nonexistent.yaml');
    if (existsSync('/usr/bin/systemd-analyze')) {
      const v = spawnSync('systemd-analyze', ['verify', '/lib/systemd/system/fieldline-edge.service'], { encoding: 'utf8' });
      expect(v.stderr + v.stdout).toBe('');
      expect(v.status).toBe(0);
    }
    run('dpkg', ['--purge', 'fieldline-edge']);
    expect(existsSync(installed)).toBe(false);
  });
});
