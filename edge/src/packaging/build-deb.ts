/**
 * `npm run package:edge`: builds dist/fieldline-edge_<version>_all.deb with dpkg-deb. It holds the
 * agent as one minified bundle (bundle.ts), the few packages that bundle loads at run time
 * (copied from the workspace install, serialport prebuilds for linux arm, arm64 and x64 only), the
 * systemd unit and a sample config (conffile).
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { bundleAgent, RUNTIME_PACKAGES } from './bundle.js';

const edgeDir = join(dirname(new URL(import.meta.url).pathname), '../..');
const repo = join(edgeDir, '..');
export const LIB = 'usr/lib/fieldline-edge';
/** The bundled agent inside LIB (bin/fieldline-edge.js and the systemd unit run it). */
const AGENT = 'dist/fieldline-edge.js';
// Serialport native bindings for a Raspberry Pi (armhf, arm64) and x64; nothing else is needed.
const KEEP_PREBUILDS = new Set(['linux-arm', 'linux-arm64', 'linux-x64']);

interface Pkg {
  name: string;
  version: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  [k: string]: unknown;
}

const readPkg = (dir: string): Pkg => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Pkg;

/** Where Node would find `name` when required from `fromDir` (nearest node_modules upwards). */
function resolvePkgDir(name: string, fromDir: string): string | undefined {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dir === repo || dir === dirname(dir)) return undefined;
  }
}

/** Copies the dependency closure of the bundle's run-time packages into `<lib>/node_modules`, keeping nesting. */
function copyDeps(lib: string): string[] {
  const copied = new Map<string, string>();
  const visit = (name: string, fromDir: string, optional: boolean): void => {
    const src = resolvePkgDir(name, fromDir);
    if (!src) {
      if (optional) return;
      throw new Error(`dependency ${name} (needed by ${fromDir}) is not installed; run npm install`);
    }
    if (copied.has(src)) return;
    const dest = join(lib, relative(repo, src));
    cpSync(src, dest, { recursive: true, dereference: true, filter: (p) => !/\/node_modules\/\.bin(\/|$)/.test(p) });
    copied.set(src, dest);
    const pkg = readPkg(src);
    for (const dep of Object.keys(pkg.dependencies ?? {})) visit(dep, src, false);
    for (const dep of Object.keys(pkg.optionalDependencies ?? {})) visit(dep, src, true);
  };
  for (const dep of RUNTIME_PACKAGES) visit(dep, edgeDir, false);
  return [...copied.values()];
}

function trimSerialport(lib: string): void {
  const bindings = join(lib, 'node_modules/@serialport/bindings-cpp');
  const prebuilds = join(bindings, 'prebuilds');
  for (const d of readdirSync(prebuilds)) if (!KEEP_PREBUILDS.has(d)) rmSync(join(prebuilds, d), { recursive: true });
  // A local node-gyp build is for this machine's CPU only; the prebuilds cover the targets.
  rmSync(join(bindings, 'build'), { recursive: true, force: true });
  for (const d of KEEP_PREBUILDS) if (!existsSync(join(prebuilds, d))) throw new Error(`serialport prebuild ${d} missing`);
}

/**
 * Lays out `/usr/lib/fieldline-edge` under `root` as the .deb installs it and returns that folder.
 * The benchmark runs the agent from here, so it measures what ships.
 */
export async function stageLib(root: string): Promise<string> {
  const lib = join(root, LIB);
  mkdirSync(lib, { recursive: true });
  await bundleAgent(join(lib, AGENT));
  cpSync(join(edgeDir, 'bin'), join(lib, 'bin'), { recursive: true });
  chmodSync(join(lib, 'bin/fieldline-edge.js'), 0o755);
  // The bundle holds everything else: no dependencies left to declare.
  const { devDependencies: _dev, dependencies: _deps, scripts: _scripts, exports: _exports, ...shipped } = readPkg(edgeDir);
  writeFileSync(join(lib, 'package.json'), `${JSON.stringify(shipped, null, 2)}\n`);
  copyDeps(lib);
  trimSerialport(lib);
  return lib;
}

export async function buildDeb(outDir = join(edgeDir, 'dist-deb')): Promise<string> {
  const pkg = readPkg(edgeDir);
  const root = join(outDir, 'root');
  rmSync(outDir, { recursive: true, force: true });
  await stageLib(root);

  mkdirSync(join(root, 'usr/bin'), { recursive: true });
  symlinkSync(`/${LIB}/bin/fieldline-edge.js`, join(root, 'usr/bin/fieldline-edge'));
  mkdirSync(join(root, 'lib/systemd/system'), { recursive: true });
  cpSync(join(edgeDir, 'packaging/fieldline-edge.service'), join(root, 'lib/systemd/system/fieldline-edge.service'));
  mkdirSync(join(root, 'etc/fieldline'), { recursive: true });
  cpSync(join(edgeDir, 'config/example.yaml'), join(root, 'etc/fieldline/edge.yaml'));
  mkdirSync(join(root, 'usr/share/doc/fieldline-edge'), { recursive: true });
  cpSync(join(edgeDir, 'README.md'), join(root, 'usr/share/doc/fieldline-edge/README.md'));

  const debian = join(root, 'DEBIAN');
  mkdirSync(debian);
  const sizeKb = Number(execFileSync('du', ['-sk', root]).toString().split('\t')[0]);
  writeFileSync(
    join(debian, 'control'),
    [
      'Package: fieldline-edge',
      `Version: ${pkg.version}`,
      'Architecture: all',
      'Maintainer: fieldline <fieldline@localhost>',
      'Depends: nodejs (>= 18), adduser',
      'Section: net',
      'Priority: optional',
      `Installed-Size: ${sizeKb}`,
      'Description: fieldline edge agent',
      ' Reads serial sensors (text, JSON lines, NMEA 0183, Modbus RTU), queues every reading on disk',
      ' and forwards it over MQTT QoS 1 to the fieldline gateway. Runs as a systemd service.',
      '',
    ].join('\n'),
  );
  writeFileSync(join(debian, 'conffiles'), '/etc/fieldline/edge.yaml\n');
  for (const script of ['postinst', 'prerm', 'postrm']) {
    cpSync(join(edgeDir, 'packaging', script), join(debian, script));
    chmodSync(join(debian, script), 0o755);
  }
  const deb = join(outDir, `fieldline-edge_${pkg.version}_all.deb`);
  execFileSync('dpkg-deb', ['--root-owner-group', '-Zxz', '--build', root, deb], { stdio: ['ignore', 'ignore', 'inherit'] });
  cpSync(join(edgeDir, 'packaging/install.sh'), join(outDir, 'install.sh'));
  chmodSync(join(outDir, 'install.sh'), 0o755);
  return deb;
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/^.*\//, '/'))) {
  process.stdout.write(`${await buildDeb(process.argv[2])}\n`);
}
