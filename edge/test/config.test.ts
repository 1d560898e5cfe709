import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { cleanupAll, tempDir } from '@fieldline/harness';
import { driverIds, EdgeConfigError, loadEdgeConfig } from '../src/index.js';

afterAll(() => cleanupAll());

const here = new URL('.', import.meta.url).pathname;
const example = join(here, '../config/example.yaml');

function issuesOf(input: unknown): string[] {
  try {
    loadEdgeConfig(input);
  } catch (err) {
    expect(err).toBeInstanceOf(EdgeConfigError);
    return (err as EdgeConfigError).issues.length ? (err as EdgeConfigError).issues : [(err as Error).message];
  }
  throw new Error('config was accepted');
}

const base = { device: 'pi-01', mqtt: { url: 'mqtt://127.0.0.1:1883' } };

describe('edge config', () => {
  it('accepts the shipped example and applies defaults', () => {
    const cfg = loadEdgeConfig(example);
    expect(cfg.device).toBe('pi-01');
    expect(cfg.queue.overflow).toBe('drop-oldest');
    expect(cfg.ports[0]!.maxFrameBytes).toBe(512);
    const min = loadEdgeConfig(base);
    expect(min.stateDir).toBe('/var/lib/fieldline');
    expect(min.batching).toEqual({ maxReadings: 500, maxDelayMs: 1000 });
  });

  it("accepts every driver's sample.yaml as a port", () => {
    const dir = join(here, '../src/drivers');
    const folders = readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
    expect(folders.sort()).toEqual(driverIds());
    for (const id of folders) {
      const port = parse(readFileSync(join(dir, id, 'sample.yaml'), 'utf8'));
      expect(loadEdgeConfig({ ...base, ports: [port] }).ports[0]!.driver).toBe(id);
      expect(readFileSync(join(dir, id, 'README.md'), 'utf8')).toContain(`# ${id}`);
    }
  });

  it('names the key path of every error', () => {
    expect(issuesOf({ ...base, mqtt: { url: 'http://x' } })).toEqual([expect.stringMatching(/^mqtt\.url: must be an mqtt/)]);
    expect(issuesOf({ ...base, device: 'Pi 1' })).toEqual([expect.stringMatching(/^device: must match/)]);
    expect(issuesOf({ ...base, queue: { maxBytes: 'big' } })).toEqual([expect.stringMatching(/^queue\.maxBytes: expected number/)]);
    expect(issuesOf({ ...base, extra: 1 })[0]).toBe('extra: unknown key');
    const port = { id: 'p', path: '/dev/ttyUSB0', driver: 'csv', channels: {} };
    expect(issuesOf({ ...base, ports: [{ ...port, baudRate: '9600' }] })[0]).toMatch(/^ports\[0\]\.baudRate: expected number/);
    expect(issuesOf({ ...base, ports: [port] })).toEqual([expect.stringMatching(/^ports\[0\]\.options\.columns: is required/)]);
    expect(issuesOf({ ...base, ports: [{ ...port, driver: 'morse' }] })).toEqual([expect.stringMatching(/^ports\[0\]\.driver: unknown driver "morse"; known: csv, jsonl/)]);
    expect(issuesOf({ ...base, ports: [{ ...port, options: { columns: ['a'] }, channels: { a: { sensor: 's' } } }, { ...port, id: 'q', options: { columns: ['a'] }, channels: { a: { sensor: 's' } } }] })).toEqual([
      'ports[1].channels.a.sensor: "s" is mapped twice',
    ]);
    expect(issuesOf('/nonexistent/edge.yaml')[0]).toMatch(/cannot read edge config \/nonexistent\/edge\.yaml/);
  });

  it('reports invalid YAML with the file name', () => {
    const file = join(tempDir('edge-cfg'), 'bad.yaml');
    writeFileSync(file, 'device: [unclosed\n');
    expect(issuesOf(file)[0]).toMatch(/bad\.yaml is not valid YAML/);
  });
});
