/**
 * `npm run package:server`: dist-deb/fieldline-server_<version>_all.deb, the cloud side as an
 * installed package: the gateway, the processor, the query API with the dashboard and Node-RED with
 * the fieldline palette and the example flows, each a systemd unit running from /usr/lib/fieldline-server
 * (never a checkout). The workspaces are compiled with tsc and laid out as an npm install would
 * (`node_modules/@fieldline/*` plus their run-time dependency closure), so module resolution and
 * the files they read at start-up (the dashboard, uPlot) work unchanged. No native module is
 * shipped (Node-RED falls back to bcryptjs), so one package serves every architecture.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { buildDebFromTree, copyPackageClosure, copyrightFile, readPackageJson, thirdParty } from '../packaging/debian.js';

const here = dirname(new URL(import.meta.url).pathname);
const repo = join(here, '../..');
export const SERVER_LIB = 'usr/lib/fieldline-server';
const WORKSPACES = ['contract', 'runtime', 'gateway', 'cloud'] as const;
/** Node-RED itself and the e-mail node the example flows use: the palette's peer and dev dependencies, which the server runs. */
const NODE_RED_PACKAGES = ['node-red', 'node-red-node-email'];
export const SERVER_UNITS = ['fieldline-gateway', 'fieldline-processor', 'fieldline-api', 'fieldline-node-red'];

const readPkg = readPackageJson;

// npm: Node-RED's palette manager runs the system's npm; its own copy would bring node-gyp's Python.
const EXCLUDED = new Set(['npm']);

/** Where a package found in the repo's install goes under the staged lib (workspace-nested ones under their workspace). */
function destOf(lib: string, src: string): string {
  const rel = relative(repo, src);
  const ws = WORKSPACES.find((w) => rel.startsWith(`${w}/node_modules/`));
  return ws ? join(lib, 'node_modules/@fieldline', ws, rel.slice(ws.length + 1)) : join(lib, rel);
}

/** Copies the run-time dependency closure of the workspaces and Node-RED; skips platform-specific optional packages (native builds). */
function copyClosure(lib: string): string[] {
  const palette = join(repo, 'cloud/node-red');
  const roots = [
    ...WORKSPACES.flatMap((ws) => Object.keys(readPkg(join(repo, ws)).dependencies ?? {}).map((name) => ({ name, from: join(repo, ws) }))),
    ...[...Object.keys(readPkg(palette).dependencies ?? {}), ...NODE_RED_PACKAGES].map((name) => ({ name, from: palette })),
  ];
  return copyPackageClosure(roots, { repo, dest: (src) => destOf(lib, src), skip: (name) => name.startsWith('@fieldline/') || EXCLUDED.has(name), skipPlatformOptional: true });
}

/** Stages the tree the package installs; returns `/usr/lib/fieldline-server` inside it and the npm packages copied. */
export function stageServer(root: string): { lib: string; copied: string[] } {
  const lib = join(root, SERVER_LIB);
  for (const ws of WORKSPACES) {
    execFileSync(process.execPath, [join(repo, 'node_modules/typescript/bin/tsc'), '-p', join(repo, ws, 'tsconfig.build.json'), '--sourceMap', 'false', '--declaration', 'false'], { stdio: 'inherit' });
    const dest = join(lib, 'node_modules/@fieldline', ws);
    const { devDependencies: _d, scripts: _s, ...pkg } = readPkg(join(repo, ws));
    mkdirSync(dest, { recursive: true });
    writeFileSync(join(dest, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
    for (const f of ['dist', 'bin', 'dashboard']) if (existsSync(join(repo, ws, f))) cpSync(join(repo, ws, f), join(dest, f), { recursive: true });
  }
  const copied = copyClosure(lib);
  // Node-RED: settings, example flows, and the palette where settings' nodesDir points.
  const nr = join(lib, 'node-red');
  mkdirSync(nr, { recursive: true });
  cpSync(join(repo, 'deploy/node-red/settings.cjs'), join(nr, 'settings.cjs'));
  cpSync(join(repo, 'deploy/node-red/flows.json'), join(nr, 'flows.json'));
  // The palette as its npm tarball has it: nodes, lib, the bundled contract and the examples.
  execFileSync(process.execPath, [join(repo, 'cloud/node-red/build.mjs')], { stdio: 'ignore' });
  const palette = join(nr, 'palette');
  for (const f of ['package.json', 'README.md', 'nodes', 'lib', 'dist', 'examples']) cpSync(join(repo, 'cloud/node-red', f), join(palette, f), { recursive: true });
  return { lib, copied };
}

export function buildServerDeb(outDir = join(repo, 'deploy/server/dist-deb')): string {
  const version = readPkg(repo).version;
  const root = join(outDir, 'root');
  rmSync(root, { recursive: true, force: true });
  const { lib, copied } = stageServer(root);
  mkdirSync(join(root, 'usr/bin'), { recursive: true });
  symlinkSync('../lib/fieldline-server/node_modules/@fieldline/gateway/bin/fieldline-gateway.js', join(root, 'usr/bin/fieldline-gateway'));
  symlinkSync('../lib/fieldline-server/node_modules/@fieldline/cloud/bin/fieldline-cloud.js', join(root, 'usr/bin/fieldline-cloud'));
  for (const b of ['gateway/bin/fieldline-gateway.js', 'cloud/bin/fieldline-cloud.js']) chmodSync(join(lib, 'node_modules/@fieldline', b), 0o755);
  mkdirSync(join(root, 'lib/systemd/system'), { recursive: true });
  for (const u of SERVER_UNITS) cpSync(join(here, `${u}.service`), join(root, `lib/systemd/system/${u}.service`));
  mkdirSync(join(root, 'etc/fieldline'), { recursive: true });
  const conffiles = {
    'gateway.yaml': join(repo, 'deploy/gateway/gateway.yaml'),
    'processor.yaml': join(repo, 'cloud/config/processor.example.yaml'),
    'api.yaml': join(repo, 'cloud/config/api.example.yaml'),
    'node-red.env': join(here, 'node-red.env'),
  };
  for (const [name, src] of Object.entries(conffiles)) cpSync(src, join(root, 'etc/fieldline', name));
  // The editor's HTML snippets mention a CDN URL as text; nothing loads it (the editor is served locally).
  mkdirSync(join(root, 'usr/share/lintian/overrides'), { recursive: true });
  writeFileSync(join(root, 'usr/share/lintian/overrides/fieldline-server'), `fieldline-server: privacy-breach-uses-embedded-file * [${SERVER_LIB}/node_modules/@node-red/editor-client/public/vendor/ace/snippets/html.js]\n`);
  mkdirSync(join(root, 'usr/share/doc/fieldline-server'), { recursive: true });
  cpSync(join(repo, 'docs/deploy.md'), join(root, 'usr/share/doc/fieldline-server/deploy.md'));
  // docs/deploy.md, "Monitoring with Prometheus": the scrape config and alert rules, to copy to /etc/prometheus.
  mkdirSync(join(root, 'usr/share/doc/fieldline-server/prometheus'), { recursive: true });
  for (const f of ['prometheus.yml', 'fieldline.rules.yml']) cpSync(join(repo, 'deploy/prometheus', f), join(root, 'usr/share/doc/fieldline-server/prometheus', f));
  const copyright = copyrightFile(copied.map((src) => ({ files: `${relative(root, destOf(lib, src))}/*`, packages: [thirdParty(src)] })));
  const deb = buildDebFromTree(
    {
      name: 'fieldline-server',
      version,
      arch: 'all',
      root,
      depends: ['nodejs (>= 20)', 'adduser'],
      recommends: ['nats-server'],
      section: 'net',
      summary: 'fieldline cloud side: gateway, processor, query API, Node-RED',
      description: [
        'The fieldline gateway (an MQTT broker for devices that stores their',
        'readings in NATS JetStream before it acknowledges them), the stream',
        'processor (event-time windows, anomaly detectors, InfluxDB sink), the',
        'query API with its dashboard, and Node-RED with the fieldline palette',
        'for alert routing, each as a systemd service.',
      ],
      conffiles: Object.keys(conffiles).map((n) => `/etc/fieldline/${n}`),
      scriptsDir: here,
      changelog: readFileSync(join(here, 'changelog'), 'utf8'),
      copyright,
    },
    join(outDir, `fieldline-server_${version}_all.deb`),
  );
  rmSync(root, { recursive: true, force: true });
  return deb;
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/^.*\//, '/'))) {
  process.stdout.write(`${buildServerDeb(process.argv[2])}\n`);
}
