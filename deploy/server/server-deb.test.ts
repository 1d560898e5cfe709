import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupAll, tempDir } from '@fieldline/harness';
import { lintian } from '../packaging/debian.js';
import { buildServerDeb, SERVER_UNITS } from './build-deb.js';

afterAll(() => {
  spawnSync('dpkg', ['--purge', 'fieldline-server'], { stdio: 'ignore' });
  cleanupAll();
});

const run = (cmd: string, args: string[]): string => execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 256 * 1024 * 1024 });

describe('fieldline-server .deb', () => {
  it('is lintian-clean, installs the four units and runs the installed commands (no checkout)', { timeout: 400_000 }, async () => {
    const deb = buildServerDeb(tempDir('server-deb'));
    const lint = lintian(deb);
    expect(lint.errors, lint.output).toEqual([]);
    const files = run('dpkg-deb', ['-c', deb]);
    for (const u of SERVER_UNITS) expect(files).toContain(`./lib/systemd/system/${u}.service`);
    expect(files).not.toMatch(/\.node$/m);
    if (process.getuid?.() !== 0) throw new Error('dpkg -i needs root (CI runs as root)');
    const install = spawnSync('dpkg', ['-i', deb], { encoding: 'utf8' });
    expect(install.status, install.stderr).toBe(0);
    const registry = join(tempDir('registry'), 'devices.json');
    // The installed CLIs, from /usr/bin, with no workspace on any path.
    const added = spawnSync('/usr/bin/fieldline-gateway', ['devices', 'add', 'pi-01', '--password', 'a-long-enough-password', '--registry', registry], { encoding: 'utf8', cwd: '/' });
    expect(added.status, added.stderr).toBe(0);
    expect(run('/usr/bin/fieldline-gateway', ['devices', 'list', '--registry', registry])).toMatch(/^pi-01\tpassword\t/m);
    const help = spawnSync('/usr/bin/fieldline-cloud', ['--help'], { encoding: 'utf8', cwd: '/' });
    expect(help.stdout).toMatch(/^usage: fieldline-cloud processor --config/);
    expect(help.status).toBe(0);
    // A bad config exits 78 (the units' RestartPreventExitStatus), naming the key.
    const bad = join(tempDir('server-deb'), 'processor.yaml');
    writeFileSync(bad, 'windows: { gapMs: soon }\n');
    const badRun = spawnSync('/usr/bin/fieldline-cloud', ['processor', '--config', bad], { encoding: 'utf8', cwd: '/' });
    expect([badRun.status, badRun.stderr]).toEqual([78, expect.stringMatching(/windows\.gapMs: expected number/)]);
    for (const u of SERVER_UNITS) expect(readFileSync(`/lib/systemd/system/${u}.service`, 'utf8')).toMatch(/^RestartPreventExitStatus=78$/m);
    const nodeRed = spawnSync('node', ['/usr/lib/fieldline-server/node_modules/node-red/red.js', '--help'], { encoding: 'utf8', cwd: '/' });
    expect(nodeRed.stdout + nodeRed.stderr).toMatch(/Node-RED v4/);
    if (existsSync('/usr/bin/systemd-analyze')) {
      for (const u of SERVER_UNITS) {
        const v = spawnSync('systemd-analyze', ['verify', `/lib/systemd/system/${u}.service`], { encoding: 'utf8' });
        expect(v.stderr + v.stdout, u).toBe('');
      }
    }
    run('dpkg', ['--purge', 'fieldline-server']);
    expect(existsSync('/usr/lib/fieldline-server')).toBe(false);
  });
});
