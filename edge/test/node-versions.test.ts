/**
 * The shipped agent (the staged .deb tree: bundle, serialport binding, modbus-serial) under the
 * Node.js versions the package supports, besides the Node 20 every other test runs on:
 * - 18: the nodejs that Debian 12 / Raspberry Pi OS bookworm ship, from Debian's own packages,
 *   fetched with `apt-get download` and unpacked with dpkg-deb (cached under node_modules/.cache).
 *   Debian builds node with its JS dependencies (acorn, cjs-module-lexer, undici) outside the
 *   binary, at fixed paths in /usr/share/nodejs, so node runs in a private mount namespace with the
 *   unpacked /usr/share laid over the real one: nothing is installed on this machine.
 * - 22: the official Node.js 22 build, as the npm registry serves it (`node-linux-<arch>`, the
 *   binary the `node` npm package installs), fetched with `npm pack` (cached the same way).
 * Each runs the unit's own command line: check-config, test, and run sending readings from a pty
 * to MQTT.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { cleanupAll, onCleanup, PtyPair, tempDir, waitFor } from '@fieldline/harness';
import { stageLib, unitCommand } from '../src/packaging/build-deb.js';
import { TestBroker } from './helpers.js';

afterAll(() => cleanupAll());

const root = join(new URL('.', import.meta.url).pathname, '../..');
const cacheOf = (name: string): string => join(root, 'node_modules/.cache', name);
const cache = cacheOf('fieldline-debian-node18');
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

/**
 * Node.js 22 as the npm registry ships it: `node-linux-<arch>@22` (the package the `node` npm
 * package installs its binary from), by `npm pack`; the newest 22.x the first time, then the cached one.
 */
function fetchNode22(): string {
  const dir = cacheOf('fieldline-node22');
  const cached = existsSync(dir) ? readdirSync(dir).find((v) => v.startsWith('22.') && existsSync(join(dir, v, 'bin/node'))) : undefined;
  if (cached) return join(dir, cached, 'bin/node');
  const arch = { x64: 'x64', arm64: 'arm64', arm: 'armv7l' }[process.arch as string];
  if (!arch) throw new Error(`no Node.js 22 package for ${process.arch}`);
  const work = tempDir('node22-pack');
  const [packed] = JSON.parse(sh('npm', ['pack', `node-linux-${arch}@22`, '--json', '--pack-destination', work], work)) as { version: string; filename: string }[];
  if (!packed?.version.startsWith('22.')) throw new Error(`npm pack node-linux-${arch}@22 gave ${JSON.stringify(packed)}`);
  sh('tar', ['-xzf', join(work, packed.filename), '-C', work, 'package/bin/node']);
  const target = join(dir, packed.version);
  rmSync(target, { recursive: true, force: true });
  mkdirSync(join(target, 'bin'), { recursive: true });
  renameSync(join(work, 'package/bin/node'), join(target, 'bin/node'));
  chmodSync(join(target, 'bin/node'), 0o755);
  return join(target, 'bin/node');
}

/** check-config, test and run of the staged package, each as the unit's command line under `node`. */
async function runsTheAgent(node: (args: string[]) => ChildProcess, major: number): Promise<void> {
  const v = await output(node(['-p', 'process.versions.node']));
  expect(v.stderr).toBe('');
  expect(v.stdout.trim()).toMatch(new RegExp(`^${major}\\.\\d+\\.\\d+$`));
  const { lib } = await stageLib(tempDir(`node${major}-lib`), 'amd64');
  const agent = unitCommand(lib);
  const broker = await TestBroker.start();
  onCleanup(() => broker.close());
  const pty = await PtyPair.create();
  const dir = tempDir(`node${major}`);
  const pw = join(dir, 'pw');
  writeFileSync(pw, 'secret\n');
  const file = join(dir, 'edge.yaml');
  writeFileSync(
    file,
    stringify({
      device: `pi-${major}`,
      stateDir: join(dir, 'state'),
      mqtt: { url: broker.url, passwordFile: pw, reconnect: { minMs: 50, maxMs: 500 } },
      batching: { maxReadings: 10, maxDelayMs: 50 },
      clock: { assumeSynced: true },
      ports: [{ id: 'kv', path: pty.hostPath, driver: 'text-kv', channels: { temp: { sensor: 'temp', unit: 'C' } } }],
    }),
  );

  const check = await output(node([...agent, 'check-config', file]));
  expect(check.stderr).toBe('');
  expect(check.stdout).toContain(`${file}: OK (device pi-${major}, 1 port(s): kv=text-kv`);

  // A writer on the board side, so that test and run have frames to read.
  const board = spawn('sh', ['-c', `while true; do printf 'temp=21.5,hum=40\\r\\n'; sleep 0.1; done > '${pty.devicePath}'`]);
  onCleanup(() => board.kill('SIGKILL'));
  const test = await output(node([...agent, 'test', '--config', file, '--seconds', '2', '--json']));
  expect(test.code, test.stderr).toBe(0);
  expect(test.stdout).toContain('"reading":{"sensor":"temp","ts":');
  expect(test.stdout).toContain('"unmapped":"hum"');

  const run = node([...agent, 'run', '--config', file]);
  const ran = output(run);
  onCleanup(() => run.kill('SIGKILL'));
  await waitFor(() => broker.readings().filter((r) => r.sensor === 'temp').length >= 5, { what: `readings from the agent on node ${major}`, timeoutMs: 30_000 });
  expect(broker.readings()[0]).toMatchObject({ sensor: 'temp', value: 21.5, unit: 'C' });
  run.kill('SIGTERM');
  const done = await ran;
  expect(done.code, done.stdout + done.stderr).toBe(0);
  board.kill('SIGKILL');
  await pty.close();
}

describe('the edge bundle on other Node.js versions', () => {
  it("runs the unit command under Debian 12's nodejs 18: check-config, test, and run sending readings from a pty to MQTT", { timeout: 240_000 }, async () => {
    if (process.getuid?.() !== 0) throw new Error('needs root: apt-get download and a private mount namespace (CI runs as root)');
    const unpacked = fetchNode18();
    await runsTheAgent((args) => node18(unpacked, args), 18);
  });

  it('runs the unit command under Node.js 22 (the official build from the npm registry): check-config, test, and run', { timeout: 240_000 }, async () => {
    const node = fetchNode22();
    await runsTheAgent((args) => spawn(node, args, { stdio: ['ignore', 'pipe', 'pipe'] }), 22);
  });
});
