/**
 * The palette as the Node-RED library gets it: `npm pack` gives a tarball that installs into a
 * fresh Node-RED user dir with npm alone and offline (it has no dependencies: the unpublished
 * contract code and nats are bundled in dist/fieldline.cjs), and Node-RED then loads its five
 * nodes from that install and lists its examples under Import > Examples; each example deploys
 * with no missing node type.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupAll, tempDir } from '@fieldline/harness';
import { startNodeRed, type NodeRedProcess } from '../../node-red/launch.mjs';

const palette = join(import.meta.dirname, '../../node-red');
const EXAMPLES = readdirSync(join(palette, 'examples')).filter((f) => f.endsWith('.json')).map((f) => f.replace(/\.json$/, '')).sort();

let tarball: string;
let packed: { path: string }[];
let userDir: string;
let nodeRed: NodeRedProcess;
let auth: Record<string, string>;

beforeAll(async () => {
  const out = tempDir('palette-pack');
  // prepack (build.mjs) prints before npm's JSON.
  const text = execFileSync('npm', ['pack', '--json', '--pack-destination', out], { cwd: palette, encoding: 'utf8' });
  const [info] = JSON.parse(text.slice(text.search(/^\[/m))) as { filename: string; files: { path: string }[] }[];
  tarball = join(out, info!.filename);
  packed = info!.files;

  // A fresh user dir, as Node-RED creates it, and the install its palette manager would run.
  userDir = tempDir('palette-userdir');
  writeFileSync(join(userDir, 'package.json'), JSON.stringify({ name: 'node-red-project', description: 'A Node-RED Project', version: '0.0.1', private: true }));
  execFileSync('npm', ['install', '--offline', '--no-audit', '--no-fund', '--omit=dev', '--legacy-peer-deps', '--no-package-lock', tarball], { cwd: userDir, encoding: 'utf8', stdio: 'pipe' });

  const emptyNodesDir = tempDir('palette-no-nodes-dir');
  const emptyFlow = join(tempDir('palette-flow'), 'flows.json');
  writeFileSync(emptyFlow, '[]');
  nodeRed = await startNodeRed({
    adminPassword: 'palette-install-password',
    credentialSecret: 'palette-install-secret',
    userDir,
    flowFile: emptyFlow,
    // Nothing from the source tree: only what npm installed into the user dir.
    env: { FL_NODE_RED_NODES_DIR: emptyNodesDir },
  });
  auth = { authorization: `Bearer ${await nodeRed.adminToken()}` };
}, 180_000);

afterAll(async () => {
  await nodeRed?.close();
  cleanupAll();
});

const get = async (path: string, accept = 'application/json'): Promise<Response> => fetch(`${nodeRed.url}${path}`, { headers: { ...auth, accept } });

describe('npm pack → fresh user dir → Node-RED', () => {
  it('the tarball carries the nodes, the bundled contract and the examples, and no development files', () => {
    const files = packed.map((f) => f.path).sort();
    expect(files).toEqual(expect.arrayContaining(['package.json', 'README.md', 'dist/fieldline.cjs', 'lib/contract.js', 'nodes/fieldline-alerts.js', 'nodes/fieldline-alerts.html', ...EXAMPLES.map((e) => `examples/${e}.json`)]));
    expect(files.filter((f) => /launch|build\.mjs|\.ts$|test/.test(f))).toEqual([]);
    const pkg = JSON.parse(readFileSync(join(userDir, 'node_modules/node-red-contrib-fieldline/package.json'), 'utf8')) as { dependencies?: Record<string, string> };
    // No dependencies: the contract, the JetStream helpers and nats are in dist/fieldline.cjs.
    expect(pkg.dependencies ?? {}).toEqual({});
    expect(readdirSync(join(userDir, 'node_modules')).filter((d) => d.startsWith('@fieldline'))).toEqual([]);
  });

  it('carries the licence notice of every npm package bundled in dist/fieldline.cjs', () => {
    expect(packed.map((f) => f.path)).toContain('dist/THIRD-PARTY-NOTICES.txt');
    const notices = readFileSync(join(userDir, 'node_modules/node-red-contrib-fieldline/dist/THIRD-PARTY-NOTICES.txt'), 'utf8');
    const bundle = readFileSync(join(userDir, 'node_modules/node-red-contrib-fieldline/dist/fieldline.cjs'), 'utf8');
    for (const [name, licence] of [['nats', 'Apache-2.0'], ['ajv', 'MIT']] as const) {
      expect(notices).toMatch(new RegExp(`^${name.replace('/', '\\/')} \\d+\\.\\d+\\.\\d+ \\(${licence}\\)$`, 'm'));
    }
    expect(notices).toContain('Permission is hereby granted, free of charge');
    expect(notices).toContain('Apache License');
    // Each listed package is in the bundle (esbuild keeps their node_modules paths in its comments).
    for (const [, name] of notices.matchAll(/^(\S+) \d+\.\d+\.\d+\S* \(/gm)) expect(bundle, name).toContain(`node_modules/${name}/`);
    // The contract's validators are generated code: neither TypeBox nor ajv's compiler is bundled.
    expect(notices).not.toMatch(/^@sinclair\/typebox /m);
    expect(bundle).not.toContain('node_modules/@sinclair/typebox/');
    expect(bundle.match(/node_modules\/ajv\/[\w/.-]+/g)?.filter((p) => !p.startsWith('node_modules/ajv/dist/runtime/')) ?? []).toEqual([]);
  });

  it('Node-RED loads the five nodes from the installed module', async () => {
    const mod = (await (await get('/nodes/node-red-contrib-fieldline')).json()) as { name: string; version: string; nodes: { name: string; types: string[]; enabled: boolean; local: boolean; err?: string }[] };
    expect(mod.name, JSON.stringify(mod)).toBe('node-red-contrib-fieldline');
    // local: from the user dir's node_modules (nodesDir points at an empty folder).
    expect(mod.nodes.map((n) => [n.name, n.enabled, n.local, n.err ?? null]), JSON.stringify(mod.nodes)).toEqual(
      ['fieldline-config', 'fieldline-alerts', 'fieldline-ack', 'fieldline-query', 'fieldline-command'].map((n) => [n, true, true, null]),
    );
    expect(mod.nodes.flatMap((n) => n.types).sort()).toEqual(['fieldline ack', 'fieldline alerts', 'fieldline command', 'fieldline query', 'fieldline-config']);
  });

  it('lists its examples under Import > Examples, and each one is a flow', async () => {
    const modules = (await (await get('/library/examples/flows/')).json()) as unknown[];
    expect(JSON.stringify(modules)).toContain('node-red-contrib-fieldline');
    const listing = JSON.stringify(await (await get('/library/examples/flows/node-red-contrib-fieldline')).json());
    for (const e of EXAMPLES) expect(listing).toContain(e);
    expect(EXAMPLES).toEqual(['alerts-to-webhook', 'query-last-hour', 'send-command']);
    for (const e of EXAMPLES) {
      const res = await get(`/library/examples/flows/node-red-contrib-fieldline/${e}`);
      expect(res.status, e).toBe(200);
      const flow = JSON.parse(await res.text()) as { type: string }[];
      expect(flow.some((n) => n.type.startsWith('fieldline')), e).toBe(true);
    }
  });

  it('every example deploys with no missing node type', async () => {
    const nodes: unknown[] = [{ id: 'ex-tab', type: 'tab', label: 'examples' }];
    const seen = new Set<string>();
    for (const e of EXAMPLES) {
      for (const n of JSON.parse(readFileSync(join(userDir, 'node_modules/node-red-contrib-fieldline/examples', `${e}.json`), 'utf8')) as { id: string; type: string; z?: string }[]) {
        if (seen.has(n.id)) continue;
        seen.add(n.id);
        nodes.push(n.type === 'fieldline-config' ? n : { ...n, z: 'ex-tab' });
      }
    }
    const res = await fetch(`${nodeRed.url}/flows`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json', 'node-red-deployment-type': 'full' }, body: JSON.stringify(nodes) });
    expect([200, 204], await res.text()).toContain(res.status);
    const state = (await (await get('/flows')).json()) as { id: string }[];
    expect(state.length).toBe(nodes.length);
    await new Promise((r) => setTimeout(r, 500));
    expect(nodeRed.log).not.toMatch(/missing types|Waiting for missing|Error loading|failed to load/i);
  });
});

describe('demo settings', () => {
  it('allow installing nodes from the palette manager, with the editor behind credentials', async () => {
    const settings = (await (await get('/settings')).json()) as { externalModules?: { palette?: { allowInstall?: boolean } } };
    expect(settings.externalModules?.palette?.allowInstall).toBe(true);
    const anonymous = await fetch(`${nodeRed.url}/flows`);
    expect(anonymous.status).toBe(401);
  });
});
