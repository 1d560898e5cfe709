/**
 * What a service loads when it imports the contract and parses every message (valid and not):
 * never TypeBox nor ajv's compiler (src/schemas.ts says why), only the generated code and ajv's
 * small run-time helpers. A child process records every module it loads: ES modules through a
 * resolve hook (`module.register`), CommonJS ones from `require.cache`.
 */
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));
const entry = pathToFileURL(join(here, '..', 'src', 'index.ts')).href;

const HOOK = `let port;
export function initialize(data) { port = data.port; }
export async function resolve(specifier, context, next) { const r = await next(specifier, context); port.postMessage(r.url); return r; }`;

const CHILD = `
import { register, createRequire } from 'node:module';
import { MessageChannel, receiveMessageOnPort } from 'node:worker_threads';
const { port1, port2 } = new MessageChannel();
register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(HOOK)}), { data: { port: port2 }, transferList: [port2] });
const c = await import(${JSON.stringify(entry)});
const good = { v: 1, device: 'dev-1', epoch: 'k3j2h4g5', seq: 7, clock: { synced: true, now: 1 }, readings: [{ sensor: 't', ts: 1, value: 1, unit: 'C' }] };
c.parseEnvelope(JSON.stringify(good));
let refused = 0;
for (const m of Object.values(c.MESSAGES)) for (const bad of ['{}', '[]', '{"v":1,"device":"X","sensor":"${'é'.repeat(70)}"}']) try { m.parse(bad); } catch (e) { if (e instanceof c.ContractError) refused++; }
const loaded = [];
for (let m; (m = receiveMessageOnPort(port1)); ) loaded.push(m.message);
loaded.push(...Object.keys(createRequire(import.meta.url).cache).map((f) => 'file://' + f));
process.stdout.write(JSON.stringify({ refused, loaded }));
port1.close();
`;

describe('the contract at run time', () => {
  it('loads neither TypeBox nor ajv’s compiler: only the generated validators and ajv’s run-time helpers', () => {
    const out = execFileSync(process.execPath, ['--conditions=fieldline-src', '--import', 'tsx', '--input-type=module', '-e', CHILD], { cwd: here, encoding: 'utf8', timeout: 60_000 });
    const { refused, loaded } = JSON.parse(out) as { refused: number; loaded: string[] };
    expect(refused).toBeGreaterThanOrEqual(16);
    const files = [...new Set(loaded)].filter((u) => u.startsWith('file:'));
    // The recording works: it sees the generated code and the one ajv helper it uses.
    expect(files.some((f) => f.endsWith('/contract/src/generated/validators.ts'))).toBe(true);
    expect(files.some((f) => /\/node_modules\/ajv\/dist\/runtime\/ucs2length\.js$/.test(f))).toBe(true);
    expect(files.filter((f) => f.includes('/node_modules/@sinclair/typebox/'))).toEqual([]);
    expect(files.filter((f) => f.endsWith('/contract/src/schemas.ts'))).toEqual([]);
    expect(files.filter((f) => f.includes('/node_modules/ajv/') && !f.includes('/node_modules/ajv/dist/runtime/'))).toEqual([]);
  });
});
