/**
 * `npm run package:edge`: builds dist-deb/fieldline-edge_<version>_<arch>.deb for amd64, arm64 and
 * armhf with dpkg-deb. Each holds the agent as one minified bundle (bundle.ts), the few packages
 * that bundle loads at run time (copied from the workspace install) with only that architecture's
 * serialport binding, the systemd unit, a sample config (conffile), copyright and changelog.
 */
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import { buildDebFromTree, copyPackageClosure, copyrightFile, elfDepends, elfFiles, readPackageJson, thirdParty, type DebArch } from '../../../deploy/packaging/debian.js';
import { bundleAgent, RUNTIME_PACKAGES } from './bundle.js';

const edgeDir = join(dirname(new URL(import.meta.url).pathname), '../..');
const repo = join(edgeDir, '..');
export const LIB = 'usr/lib/fieldline-edge';
/** The bundled agent inside LIB (bin/fieldline-edge.js and the systemd unit run it). */
const AGENT = 'dist/fieldline-edge.js';

/** Debian architecture -> serialport prebuild folder and the binaries in it to keep. */
export const ARCHES: Record<Exclude<DebArch, 'all'>, { prebuilds: string; keep: RegExp }> = {
  amd64: { prebuilds: 'linux-x64', keep: /glibc/ },
  arm64: { prebuilds: 'linux-arm64', keep: /armv8/ },
  // Raspberry Pi OS armhf runs on ARMv6 (Pi 1, Zero) and ARMv7; node-gyp-build picks by CPU.
  armhf: { prebuilds: 'linux-arm', keep: /armv[67]/ },
};
export type EdgeArch = keyof typeof ARCHES;

const readPkg = readPackageJson;

// Needed only to compile the binding, which the prebuilds make unnecessary.
const BUILD_ONLY = new Set(['node-addon-api']);

/** Copies the dependency closure of the bundle's run-time packages into `<lib>/node_modules`, keeping nesting; returns the source folders. */
function copyDeps(lib: string): string[] {
  return copyPackageClosure(
    RUNTIME_PACKAGES.map((name) => ({ name, from: edgeDir })),
    { repo, dest: (src) => join(lib, relative(repo, src)), skip: (name) => BUILD_ONLY.has(name) },
  );
}

/** Keeps only `arch`'s serialport binding, and none of the sources it was built from. */
function trimSerialport(lib: string, arch: EdgeArch): void {
  const bindings = join(lib, 'node_modules/@serialport/bindings-cpp');
  const prebuilds = join(bindings, 'prebuilds');
  const { prebuilds: keepDir, keep } = ARCHES[arch];
  for (const d of readdirSync(prebuilds)) if (d !== keepDir) rmSync(join(prebuilds, d), { recursive: true });
  if (!existsSync(join(prebuilds, keepDir))) throw new Error(`serialport prebuild ${keepDir} missing`);
  for (const f of readdirSync(join(prebuilds, keepDir))) if (!keep.test(f)) rmSync(join(prebuilds, keepDir, f));
  // A local node-gyp build is for this machine's CPU only; the C++ sources are not needed either.
  for (const d of ['build', 'src', 'binding.gyp', 'node_modules/node-addon-api']) rmSync(join(bindings, d), { recursive: true, force: true });
}

/**
 * Lays out `/usr/lib/fieldline-edge` under `root` as the .deb for `arch` installs it and returns
 * that folder and the npm packages it contains (inlined or copied). The benchmark and the Node 18
 * test run the agent from here, so they run what ships.
 */
export async function stageLib(root: string, arch: EdgeArch = 'amd64'): Promise<{ lib: string; inlined: string[]; copied: string[] }> {
  const lib = join(root, LIB);
  mkdirSync(lib, { recursive: true });
  const inlined = await bundleAgent(join(lib, AGENT));
  cpSync(join(edgeDir, 'bin'), join(lib, 'bin'), { recursive: true });
  chmodSync(join(lib, 'bin/fieldline-edge.js'), 0o755);
  // The bundle holds everything else: no dependencies left to declare.
  const { devDependencies: _dev, dependencies: _deps, scripts: _scripts, exports: _exports, ...shipped } = readPkg(edgeDir);
  writeFileSync(join(lib, 'package.json'), `${JSON.stringify(shipped, null, 2)}\n`);
  const copied = copyDeps(lib);
  trimSerialport(lib, arch);
  return { lib, inlined, copied };
}

/**
 * The node arguments of the unit's ExecStart (its V8 flags and the bundle) with the bundle under
 * `lib` (a staged tree): what systemd runs, for the benchmark and the Node 18 test.
 */
export function unitCommand(lib: string): string[] {
  const unit = readFileSync(join(edgeDir, 'packaging/fieldline-edge.service'), 'utf8');
  const exec = new RegExp(`^ExecStart=\\S+ (.*?)/${LIB}/(\\S+) run `, 'm').exec(unit);
  if (!exec) throw new Error(`ExecStart of the unit does not run a script in /${LIB}`);
  return [...exec[1]!.split(' ').filter(Boolean), join(lib, exec[2]!)];
}

/** Builds the package for one architecture into `outDir`; returns the .deb's path. */
export async function buildDeb(outDir = join(edgeDir, 'dist-deb'), arch: EdgeArch = 'amd64'): Promise<string> {
  const pkg = readPkg(edgeDir);
  const root = join(outDir, `root-${arch}`);
  rmSync(root, { recursive: true, force: true });
  const { lib, inlined, copied } = await stageLib(root, arch);

  mkdirSync(join(root, 'usr/bin'), { recursive: true });
  symlinkSync(`../lib/fieldline-edge/bin/fieldline-edge.js`, join(root, 'usr/bin/fieldline-edge'));
  mkdirSync(join(root, 'usr/share/man/man1'), { recursive: true });
  writeFileSync(join(root, 'usr/share/man/man1/fieldline-edge.1.gz'), gzipSync(manPage(pkg.version), { level: 9 }));
  mkdirSync(join(root, 'lib/systemd/system'), { recursive: true });
  cpSync(join(edgeDir, 'packaging/fieldline-edge.service'), join(root, 'lib/systemd/system/fieldline-edge.service'));
  mkdirSync(join(root, 'etc/fieldline'), { recursive: true });
  cpSync(join(edgeDir, 'config/example.yaml'), join(root, 'etc/fieldline/edge.yaml'));
  mkdirSync(join(root, 'usr/share/doc/fieldline-edge'), { recursive: true });
  cpSync(join(edgeDir, 'README.md'), join(root, 'usr/share/doc/fieldline-edge/README.md'));

  const copyright = copyrightFile([
    { files: `${LIB}/${AGENT}`, packages: inlined.map(thirdParty), comment: 'fieldline code and, inlined by esbuild:' },
    ...copied.map((src) => ({ files: `${LIB}/${relative(repo, src)}/*`, packages: [thirdParty(src)] })),
  ]);
  const deb = buildDebFromTree(
    {
      name: 'fieldline-edge',
      version: pkg.version,
      arch,
      root,
      // Debian 12's nodejs is 18.x; serialport 12 and every bundled library support 18, 20 and 22.
      depends: ['nodejs (>= 18)', 'adduser', ...elfDepends(elfFiles(lib))],
      section: 'net',
      summary: 'fieldline edge agent: serial sensors to MQTT with a disk queue',
      description: [
        'Reads serial sensors (text, CSV, JSON lines, NMEA 0183, Modbus RTU),',
        'queues every reading on disk and forwards it over MQTT QoS 1 to the',
        'fieldline gateway, which stores it in NATS JetStream. Runs as the systemd',
        'service fieldline-edge; fieldline-edge test and probe check a sensor',
        'without the cloud.',
      ],
      conffiles: ['/etc/fieldline/edge.yaml'],
      scriptsDir: join(edgeDir, 'packaging'),
      changelog: readFileSync(join(edgeDir, 'packaging/changelog'), 'utf8'),
      copyright,
    },
    join(outDir, `fieldline-edge_${pkg.version}_${arch}.deb`),
  );
  rmSync(root, { recursive: true, force: true });
  cpSync(join(edgeDir, 'packaging/install.sh'), join(outDir, 'install.sh'));
  chmodSync(join(outDir, 'install.sh'), 0o755);
  return deb;
}

/** fieldline-edge(1): the commands, the files, the exit codes. */
function manPage(version: string): string {
  return `.TH FIELDLINE-EDGE 1 "" "fieldline-edge ${version}" "User Commands"
.SH NAME
fieldline-edge \\- fieldline edge agent: serial sensors to MQTT with a disk queue
.SH SYNOPSIS
.B fieldline-edge run
[\\fB\\-\\-config\\fR \\fIFILE\\fR]
.br
.B fieldline-edge check-config
[\\fIFILE\\fR]
.br
.B fieldline-edge test
[\\fB\\-\\-config\\fR \\fIFILE\\fR] [\\fB\\-\\-seconds\\fR \\fIN\\fR] [\\fB\\-\\-json\\fR]
.br
.B fieldline-edge probe
\\fIPORT\\fR [\\fB\\-\\-baud\\fR \\fIN\\fR] [\\fB\\-\\-seconds\\fR \\fIN\\fR] [\\fB\\-\\-unit\\fR \\fIID\\fR]
.br
.B fieldline-edge drivers
.SH DESCRIPTION
\\fBrun\\fR is the service (fieldline-edge.service): it reads the configured serial ports, writes every
reading to the disk queue in the state dir and sends it over MQTT QoS 1 to the gateway.
\\fBcheck-config\\fR checks everything \\fBrun\\fR needs before it connects: the config keys, the password
and TLS files, the state dir and the serial ports. Run it as the service user:
\\fBsudo -u fieldline fieldline-edge check-config\\fR.
\\fBtest\\fR reads the ports for N seconds (default 10) and prints each reading as the gateway would
receive it, unmapped channels and bad frames with the reason; it needs no MQTT.
\\fBprobe\\fR listens to a port, says which driver matches and which channels it saw, and prints a
ports: entry to paste into the config. Stop the service before \\fBtest\\fR or \\fBprobe\\fR.
.SH FILES
/etc/fieldline/edge.yaml (FILE by default), /var/lib/fieldline (state and queue),
/usr/share/doc/fieldline-edge/README.md (every config key).
.SH EXIT STATUS
0 ok, 1 failure (test: a port sent no good frame), 64 usage, 78 configuration error
(systemd does not restart the service on 78).
`;
}

/** Every architecture's package. */
export async function buildDebs(outDir = join(edgeDir, 'dist-deb')): Promise<string[]> {
  rmSync(outDir, { recursive: true, force: true });
  const out: string[] = [];
  for (const arch of Object.keys(ARCHES) as EdgeArch[]) out.push(await buildDeb(outDir, arch));
  return out;
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/^.*\//, '/'))) {
  const arch = process.argv[3] as EdgeArch | undefined;
  if (arch && !(arch in ARCHES)) throw new Error(`unknown architecture ${arch}; one of ${Object.keys(ARCHES).join(', ')}`);
  const debs = arch ? [await buildDeb(process.argv[2], arch)] : await buildDebs(process.argv[2]);
  process.stdout.write(`${debs.join('\n')}\n`);
}
