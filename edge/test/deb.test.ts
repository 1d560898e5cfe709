import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupAll, tempDir } from '@fieldline/harness';
import { lintian } from '../../deploy/packaging/debian.js';
import { ARCHES, buildDebs } from '../src/packaging/build-deb.js';

afterAll(() => {
  // Never leave the package installed on the machine that ran the test.
  spawnSync('dpkg', ['--purge', 'fieldline-edge'], { stdio: 'ignore' });
  cleanupAll();
});

const run = (cmd: string, args: string[]): string => execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const isRoot = process.getuid?.() === 0;
// The installed command, by absolute path: npm puts the workspace's own bin first on PATH.
const installed = '/usr/bin/fieldline-edge';
const edgeDir = join(new URL('.', import.meta.url).pathname, '..');

describe('.deb packages', () => {
  it('one per architecture with only its own serialport binding, lintian-clean, installable, not started on the sample config', { timeout: 300_000 }, async () => {
    const debs = await buildDebs(tempDir('deb'));
    expect(debs.map((d) => d.replace(/^.*\//, ''))).toEqual(['fieldline-edge_0.1.0_amd64.deb', 'fieldline-edge_0.1.0_arm64.deb', 'fieldline-edge_0.1.0_armhf.deb']);
    for (const [i, arch] of (Object.keys(ARCHES) as Array<keyof typeof ARCHES>).entries()) {
      const deb = debs[i]!;
      const info = run('dpkg-deb', ['-f', deb, 'Architecture', 'Depends', 'Maintainer']);
      expect(info).toContain(`Architecture: ${arch}`);
      expect(info).toMatch(/Depends: nodejs \(>= 18\), adduser, libc6 \(>= 2\.[\d.]+\), libstdc\+\+6( \(>= 5\))?, libgcc-s1\n/);
      expect(info).not.toMatch(/localhost/);
      const files = run('dpkg-deb', ['-c', deb]);
      const natives = [...files.matchAll(/\.\/(\S+\.node)$/gm)].map((m) => m[1]!);
      expect(natives.length, `${arch} ships a native module`).toBeGreaterThan(0);
      // Only this architecture's binding: prebuilds/<its folder>/, glibc builds only.
      for (const n of natives) expect(n).toMatch(new RegExp(`bindings-cpp/prebuilds/${ARCHES[arch].prebuilds}/[^/]+$`));
      expect(files).not.toMatch(/prebuilds\/(android|darwin|win32)|musl\.node/);
      expect(files).not.toMatch(/node_modules\/(nats|@influxdata|node-red|node-addon-api)\//);
      for (const f of ['./lib/systemd/system/fieldline-edge.service', './usr/share/doc/fieldline-edge/copyright', './usr/share/doc/fieldline-edge/changelog.gz', './usr/share/man/man1/fieldline-edge.1.gz']) expect(files).toContain(f);
      expect(run('sh', ['-c', `dpkg-deb --ctrl-tarfile '${deb}' | tar -xO ./conffiles`])).toBe('/etc/fieldline/edge.yaml\n');
      const lint = lintian(deb);
      expect(lint.errors, lint.output).toEqual([]);
    }

    const unit = readFileSync(join(edgeDir, 'packaging/fieldline-edge.service'), 'utf8');
    expect(unit).toMatch(/^RestartPreventExitStatus=78$/m);
    // systemd resolves a bare `node` in /usr/local/bin before /usr/bin.
    expect(unit).toMatch(/^ExecStart=node /m);

    if (!isRoot) throw new Error('dpkg -i needs root (CI runs as root)');
    const amd64 = debs[0]!;
    const install = spawnSync('dpkg', ['-i', amd64], { encoding: 'utf8' });
    expect(install.status, install.stderr).toBe(0);
    // The sample config points at a password file that is not there: the postinst says so and does not start it.
    expect(install.stderr).toContain('fieldline-edge: not started: /etc/fieldline/edge.yaml is not ready yet');
    expect(install.stderr).toContain('mqtt.passwordFile: cannot read /etc/fieldline/mqtt-password');
    const pkgVersion = (JSON.parse(readFileSync(join(edgeDir, 'package.json'), 'utf8')) as { version: string }).version;
    expect(run(installed, ['--version']).trim()).toBe(pkgVersion);
    expect(run('id', ['-nG', 'fieldline'])).toContain('dialout');
    const bad = spawnSync('runuser', ['-u', 'fieldline', '--', installed, 'check-config'], { encoding: 'utf8' });
    expect(bad.status).toBe(78);
    expect(bad.stderr).toContain('mqtt.passwordFile: cannot read /etc/fieldline/mqtt-password');
    const missing = spawnSync(installed, ['check-config', '/nonexistent.yaml'], { encoding: 'utf8' });
    expect(missing.status).toBe(78);
    expect(missing.stderr).toContain('cannot read edge config /nonexistent.yaml');
    expect(run(installed, ['drivers'])).toContain('modbus');
    if (existsSync('/usr/bin/systemd-analyze')) {
      const v = spawnSync('systemd-analyze', ['verify', '/lib/systemd/system/fieldline-edge.service'], { encoding: 'utf8' });
      expect(v.stderr + v.stdout).toBe('');
      expect(v.status).toBe(0);
    }
    run('dpkg', ['--purge', 'fieldline-edge']);
    expect(existsSync(installed)).toBe(false);
  });
});
