/**
 * Where things live, and what each package may import: the rules behind the map in
 * docs/architecture.md ("Where things live"). `npm run check:imports` (and test/imports.test.ts,
 * so CI) fails on an import that breaks them; the map in the doc is printed from this table, and
 * the test checks that the doc still shows it.
 */
import { builtinModules } from 'node:module';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export interface PackageRule {
  /** Folder of the package (its shipped code: `src/`, or the palette's files). */
  dir: string;
  name: string;
  owns: string;
  /** Workspace packages (or subpaths) its shipped code may import. */
  fieldline: string[];
  /** Other npm packages its shipped code may import (each must be a dependency or peer). */
  npm: string[];
  /** Folders of the shipped code, relative to `dir`. @default ['src'] */
  code?: string[];
  /** Folders inside `code` that are build tools, not shipped (their tsconfig.build.json excludes them); not checked. */
  tools?: string[];
  /** A generated bundle of shipped code (relative to `dir`) the code may require; made by a build tool from what `fieldline`/`npm` name, not checked itself. */
  bundle?: string;
}

export const PACKAGES: PackageRule[] = [
  {
    dir: 'contract',
    name: '@fieldline/contract',
    owns: 'every wire message: one TypeBox schema (compiled at build time into `src/generated/`: JSON Schema data and ajv standalone validators, so at run time only ajv\'s small helpers load) and one parser each (`ContractError(reason, path)`), ids, MQTT topics, NATS subjects, partitioning, the dead-letter builder and its closed reason set',
    fieldline: [],
    npm: ['@sinclair/typebox', 'ajv'],
  },
  {
    dir: 'runtime',
    name: '@fieldline/runtime',
    owns: 'service plumbing, once: config loader and its error format, CLI conventions and exit codes, `runService`, backoff/retry, the ops server, the logger, bounded waits (`settlesWithin`); `./process`: child processes and pty pairs; `./nats`: typed JetStream error checks; `./metrics`: the standard process metrics of every `/metrics`',
    fieldline: [],
    npm: ['pino', 'yaml', 'zod', 'nats', 'prom-client'],
  },
  {
    dir: 'test/harness',
    name: '@fieldline/harness',
    owns: 'real services for tests, benches and the demo: nats-server, influxd, free ports, waiting, teardown that names a hung step, CPU and RSS of a process (builds on runtime/process)',
    fieldline: ['@fieldline/runtime/process'],
    npm: [],
  },
  {
    dir: 'firmware-sim',
    name: '@fieldline/firmware-sim',
    owns: 'simulated sensor boards on ptys, scenarios, MQTT fleets (`fieldline-sim`)',
    fieldline: ['@fieldline/contract', '@fieldline/runtime', '@fieldline/runtime/process'],
    npm: ['mqtt', 'pino', 'serialport', 'yaml', 'zod'],
  },
  {
    dir: 'edge',
    name: '@fieldline/edge',
    owns: 'the edge agent: serial drivers, disk queue, MQTT uplink, its .deb (`fieldline-edge`)',
    fieldline: ['@fieldline/contract', '@fieldline/runtime'],
    npm: ['modbus-serial', 'mqtt', 'pino', 'serialport', 'yaml', 'zod'],
    // The .deb build (esbuild bundle, deploy/packaging/debian.ts): excluded from the build, like a bench.
    tools: ['src/packaging'],
  },
  {
    dir: 'gateway',
    name: '@fieldline/gateway',
    owns: 'the MQTT broker (aedes) with device auth, the JetStream bridge, dead letters, downlink (`fieldline-gateway`)',
    fieldline: ['@fieldline/contract', '@fieldline/runtime', '@fieldline/runtime/nats', '@fieldline/runtime/metrics'],
    npm: ['aedes', 'nats', 'pino', 'prom-client', 'ws', 'yaml', 'zod'],
  },
  {
    dir: 'cloud',
    name: '@fieldline/cloud',
    owns: 'the processor (windows, detectors, alerts, rollups), the query API and dashboard, the one InfluxDB module `src/influx/`, and `evaluate` (the live pipeline on labelled series or a firmware-sim scenario) (`fieldline-cloud`)',
    // firmware-sim: only `evaluate --scenario`, imported when it runs (a dev dependency, not shipped).
    fieldline: ['@fieldline/contract', '@fieldline/runtime', '@fieldline/runtime/nats', '@fieldline/runtime/metrics', '@fieldline/firmware-sim'],
    npm: ['@fastify/swagger', '@influxdata/influxdb-client', 'cli-progress', 'fastify', 'nats', 'pino', 'prom-client', 'uplot', 'yaml', 'zod'],
  },
  {
    dir: 'cloud/node-red',
    name: 'node-red-contrib-fieldline',
    owns: 'the Node-RED palette (alerts, ack, query, command nodes); what it uses of the contract, `runtime/nats` and nats reaches it only through its bundle `dist/fieldline.cjs` (`build.mjs`), so the package has no dependencies; Node-RED itself is only its dev/peer dependency',
    fieldline: ['@fieldline/contract', '@fieldline/runtime/nats'],
    npm: ['nats'],
    bundle: 'dist/fieldline.cjs',
    code: ['nodes', 'lib'],
  },
];

/** Inside cloud/src: folders that must not reach into others (pure parts stay pure, the InfluxDB module stands alone). */
export const CLOUD_LAYERS: Record<string, string[]> = {
  influx: ['processor', 'api', 'detectors', 'windows', 'alerts', 'evaluate', 'rollups'],
  detectors: ['influx', 'processor', 'api', 'evaluate', 'rollups'],
  windows: ['influx', 'processor', 'api', 'detectors', 'alerts', 'evaluate', 'rollups'],
  rollups: ['processor', 'api', 'detectors', 'alerts', 'evaluate'],
  alerts: ['influx', 'processor', 'api', 'evaluate', 'rollups'],
  processor: ['api', 'evaluate'],
  api: ['processor', 'detectors', 'windows', 'alerts', 'evaluate', 'rollups'],
  evaluate: ['api'],
  units: ['influx', 'processor', 'api', 'detectors', 'windows', 'rollups', 'alerts', 'evaluate'],
};

const BUILTINS = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);
const SOURCE = /\.(ts|mts|js|cjs|mjs)$/;
const IMPORT = /(?:^|[^.\w])(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|(?:^|[^.\w])import\s*['"]([^'"]+)['"]|(?:^|[^.\w])(?:import|require)\s*\(\s*['"]([^'"]+)['"]\s*\)/gm;

function files(dir: string): string[] {
  let out: string[] = [];
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out = out.concat(files(p));
    else if (SOURCE.test(name) && !/\.test\.ts$/.test(name)) out.push(p);
  }
  return out;
}

/** Package name of a bare specifier (`@scope/a/b` -> `@scope/a`, `a/b` -> `a`); subpaths of fieldline packages are kept. */
function packageOf(spec: string): string {
  const parts = spec.split('/');
  if (spec.startsWith('@fieldline/')) return parts.slice(0, 3).join('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

export function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
  const out: string[] = [];
  for (const m of text.matchAll(IMPORT)) out.push((m[1] ?? m[2] ?? m[3])!);
  return out;
}

/** Every import of shipped code that breaks the rules, as `file: why`. */
export function violations(): string[] {
  const problems: string[] = [];
  for (const rule of PACKAGES) {
    const pkgDir = join(ROOT, rule.dir);
    const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as Record<string, Record<string, string> | undefined>;
    const declared = new Set([...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {}), ...Object.keys(pkg.devDependencies ?? {})]);
    for (const folder of rule.code ?? ['src']) {
      for (const file of files(join(pkgDir, folder))) {
        const rel = relative(ROOT, file);
        if (rule.tools?.some((t) => relative(join(pkgDir, t), file).split(sep)[0] !== '..')) continue;
        for (const spec of importsOf(file)) {
          if (BUILTINS.has(spec)) continue;
          if (spec.startsWith('.')) {
            const target = resolve(dirname(file), spec);
            const inside = relative(pkgDir, target);
            if (rule.bundle && inside === rule.bundle) continue;
            if (inside.startsWith('..')) problems.push(`${rel}: imports ${spec}, outside ${rule.dir}/ (import the package instead)`);
            else if (!(rule.code ?? ['src']).some((c) => inside === c || inside.startsWith(`${c}${sep}`))) problems.push(`${rel}: imports ${spec}, which is not shipped code (tests, benches, fixtures)`);
            if (rule.dir === 'cloud') {
              const from = relative(join(pkgDir, 'src'), file).split(sep)[0]!;
              const to = relative(join(pkgDir, 'src'), target).split(sep)[0]!;
              if (CLOUD_LAYERS[from]?.includes(to)) problems.push(`${rel}: cloud/src/${from}/ may not import cloud/src/${to}/ (${spec})`);
            }
            continue;
          }
          const name = packageOf(spec);
          if (name.startsWith('@fieldline/') || name === 'node-red-contrib-fieldline') {
            if (!rule.fieldline.includes(name)) problems.push(`${rel}: ${rule.name} may not import ${name}`);
            if (!declared.has(packageOf(name.split('/').slice(0, 2).join('/')))) problems.push(`${rel}: imports ${name}, not declared in ${rule.dir}/package.json`);
            continue;
          }
          if (!rule.npm.includes(name)) problems.push(`${rel}: ${rule.name} may not import ${name} (not in its rule)`);
          else if (!declared.has(name)) problems.push(`${rel}: imports ${name}, not declared in ${rule.dir}/package.json`);
        }
      }
    }
  }
  return problems;
}

/** The map in docs/architecture.md, printed from the rules. */
export function markdownMap(): string {
  const rows = PACKAGES.map((r) => `| \`${r.dir}/\` (\`${r.name}\`) | ${r.owns} | ${[...r.fieldline.map((f) => `\`${f}\``), ...r.npm.map((n) => `${n}`)].join(', ') || 'Node built-ins only'} |`);
  const tools = PACKAGES.flatMap((r) => (r.tools ?? []).map((t) => `\`${r.dir}/${t}/\``)).join(', ');
  const layers = Object.entries(CLOUD_LAYERS).map(([from, not]) => `\`${from}/\` not ${not.map((n) => `\`${n}/\``).join(', ')}`);
  return [
    '| package | owns | may import (besides Node built-ins) |',
    '| --- | --- | --- |',
    ...rows,
    '',
    `Inside \`cloud/src\`: ${layers.join('; ')}. Shipped code never imports tests, benches or \`@fieldline/harness\`; tests, benches, build tools (${tools}) and \`deploy/\` may import anything in the workspace.`,
  ].join('\n');
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  if (process.argv.includes('--map')) {
    process.stdout.write(`${markdownMap()}\n`);
  } else {
    const problems = violations();
    for (const p of problems) process.stderr.write(`${p}\n`);
    process.stdout.write(problems.length ? `${problems.length} import(s) break the rules in test/import-rules.ts\n` : 'imports follow the rules in test/import-rules.ts\n');
    process.exitCode = problems.length ? 1 : 0;
  }
}
