/**
 * The shipped agent (the staged .deb tree: bundle, serialport binding, modbus-serial) on the
 * Node.js that Debian 12 / Raspberry Pi OS bookworm ship: nodejs 18 from Debian's own packages,
 * fetched with `apt-get download` and unpacked with dpkg-deb (cached under node_modules/.cache).
 * Debian builds node with its JS dependencies (acorn, cjs-module-lexer, undici) outside the binary,
 * at fixed paths in /usr/share/nodejs, so node runs in a private mount namespace with the unpacked
 * /usr/share laid over the real one: nothing is installed on this machine.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { cleanupAll, onCleanup, PtyPair, tempDir, waitFor } from '@fieldline/harness';
import { stageLib, unitCommand } from '../src/packaging/build-deb.js';
import { TestBroker } from './helpers.js';

afterAll(() => cleanupAll());

const root = join(new URL('.', import.meta.url).pathname, '../..');
const cache = join(root, 'node_modules/.cache/fieldline-debian-node18');
const sh = (cmd: string, args: string[], cwd?: string): string => execFileSync(cmd, args, { encoding: 'utf8', cwd, stdio: ['ignore', 'pipe', 'pipe'] });

/** Debian's own nodejs 18.x version (not a nodesource or other repository's build). */
function debianNode18(): string {
  const find = (): string | undefined =>
    sh('apt-cache', ['madison', 'nodejs'])
      .split('\n')
      .map((l) => l.split('|').map((c) => c.trim()))
      .find(([, v, src]) => v?.startsWith('18.') && /debian/.test(src ?? ''))?.[1];
  let v = find();
  if (!v) {
    sh('apt-get', ['update', '-qq']);
    v = find();
  }
  if (!v) throw new Error('no Debian nodejs 18.x in the apt sources (Debian 12 bookworm has 18.20)');
  return v;
}

const installed = (pkg: string): boolean => spawnSync('dpkg-query', ['-W', '-f=${Status}', pkg], { encoding: 'utf8' }).stdout.includes('install ok installed');

/** Downloads nodejs 18, libnode108, its JS dependencies and any shared library it needs that is not installed. */
function fetchNode18(): string {
  const version = debianNode18();
  const dir = join(cache, version.replace(/[^\w.+-]/g, '_'));
  const unpacked = join(dir, 'root');
  if (existsSync(join(unpacked, 'usr/bin/node'))) return unpacked;
  mkdirSync(dir, { recursive: true });
  const get = (...pkgs: string[]): void => void sh('apt-get', ['download', '-qq', ...pkgs], dir);
  get(`nodejs=${version}`, `libnode108=${version}`);
  const libnode = readdirSync(dir).find((f) => f.startsWith('libnode108_'))!;
  const deps = sh('dpkg-deb', ['-f', join(dir, libnode), 'Depends'])
    .split(',')
    .map((d) => d.trim().split(/[\s(]/)[0]!)
    .filter((d) => d && (d.startsWith('node-') || !installed(d)));
  if (deps.length) get(...deps);
  for (const deb of readdirSync(dir).filter((f) => f.endsWith('.deb'))) sh('dpkg-deb', ['-x', join(dir, deb), unpacked]);
  return unpacked;
}

/** `node args…` as Debian's nodejs 18, with its /usr/share/nodejs and libraries from the unpacked tree. */
function node18(unpacked: string, args: string[]): ChildProcess {
  const libs = [join(unpacked, 'usr/lib/x86_64-linux-gnu'), join(unpacked, 'usr/lib/aarch64-linux-gnu'), join(unpacked, 'usr/lib/arm-linux-gnueabihf')].filter(existsSync).join(':');
  const script = `mount -t overlay overlay -o lowerdir="$1/usr/share:/usr/share" /usr/share && shift && exec env LD_LIBRARY_PATH="${libs}" "$0" "$@"`;
  return spawn('unshare', ['--mount', 'sh', '-c', script, join(unpacked, 'usr/bin/node'), unpacked, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
}

async function output(child: ChildProcess): Promise<{ code: number | null; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const code = await new Promise<number | null>((r) => child.on('close', r));
  return { code, stdout, stderr };
}

describe("the edge bundle on Debian 12's nodejs 18", () => {
  it('runs the unit command under node 18: check-config, test, and run sending readings from a pty to MQTT', { timeout: 240_000 }, async () => {
    if (process.getuid?.() !== 0) throw new Error('needs root: apt-get download and a private mount namespace (CI runs as root)');
    const unpacked = fetchNode18();
    const v = await output(node18(unpacked, ['-p', 'process.versions.node']));
    expect(v.stderr).toBe('');
    expect(v.stdout.trim()).toMatch(/^18\.\d+\.\d+$/);

    const { lib } = await stageLib(tempDir('node18-lib'), 'amd64');
    const agent = unitCommand(lib);
    const broker = await TestBroker.start();
    onCleanup(() => broker.close());
    const pty = await PtyPair.create();
    const dir = tempDir('node18');
    const pw = join(dir, 'pw');
    writeFileSync(pw, 'secret\n');
    const file = join(dir, 'edge.yaml');
    writeFileSync(
      file,
      stringify({
        device: 'pi-18',
        stateDir: join(dir, 'state'),
        mqtt: { url: broker.url, passwordFile: pw, reconnect: { minMs: 50, maxMs: 500 } },
        batching: { maxReadings: 10, maxDelayMs: 50 },
        clock: { assumeSynced: true },
        ports: [{ id: 'kv', path: pty.hostPath, driver: 'text-kv', channels: { temp: { sensor: 'temp', unit: 'C' } } }],
      }),
    );

    const check = await output(node18(unpacked, [...agent, 'check-config', file]));
    expect(check.stderr).toBe('');
    expect(check.stdout).toContain(`${file}: OK (device pi-18, 1 port(s): kv=text-kv`);

    // A writer on the board side, so that test and run have frames to read.
    const board = spawn('sh', ['-c', `while true; do printf 'temp=21.5,hum=40\\r\\n'; sleep 0.1; done > '${pty.devicePath}'`]);
    onCleanup(() => board.kill('SIGKILL'));
    const test = await output(node18(unpacked, [...agent, 'test', '--config', file, '--seconds', '2', '--json']));
    expect(test.code, test.stderr).toBe(0);
    expect(test.stdout).toContain('"reading":{"sensor":"temp","ts":');
    expect(test.stdout).toContain('"unmapped":"hum"');

    const run = node18(unpacked, [...agent, 'run', '--config', file]);
    const ran = output(run);
    onCleanup(() => run.kill('SIGKILL'));
    await waitFor(() => broker.readings().filter((r) => r.sensor === 'temp').length >= 5, { what: 'readings from the agent on node 18', timeoutMs: 30_000 });
    expect(broker.readings()[0]).toMatchObject({ sensor: 'temp', value: 21.5, unit: 'C' });
    run.kill('SIGTERM');
    const done = await ran;
    expect(done.code, done.stdout + done.stderr).toBe(0);
    board.kill('SIGKILL');
    await pty.close();
  });
});
