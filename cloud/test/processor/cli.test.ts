import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cleanupAll, tempDir, waitFor } from '@fieldline/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envelope, KEEP_FOREVER, publish, queryRows, startServices, stopServices, type Services } from './helpers.js';

const cli = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));

function run(args: string[]) {
  const child = spawn(process.execPath, ['--conditions=fieldline-src', '--import', 'tsx', cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d));
  child.stderr.on('data', (d: Buffer) => (out += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  // 'close' comes after the last output is read ('exit' can come before it).
  let closed = false;
  child.once('close', () => (closed = true));
  return { child, exited, closed: () => closed, output: () => out };
}

/** The ops port a processor's "processor started" log line names (pino JSON, one object a line). */
function startedPort(output: string): number | undefined {
  for (const line of output.split('\n')) {
    if (!line.includes('"processor started"')) continue;
    const port = (JSON.parse(line) as { httpPort?: unknown }).httpPort;
    if (typeof port === 'number' && port > 0) return port;
  }
  return undefined;
}

describe('fieldline-cloud processor (CLI)', () => {
  let s: Services | undefined;
  beforeAll(async () => {
    s = await startServices();
  });
  afterAll(async () => {
    await stopServices(s);
    cleanupAll();
  });

  it('rejects a bad config naming the key, exit code 78', async () => {
    const file = join(tempDir('cli'), 'bad.yaml');
    writeFileSync(file, 'windows:\n  gapMs: soon\n');
    const p = run(['processor', '--config', file]);
    expect(await p.exited).toBe(78);
    expect(p.output()).toMatch(/windows\.gapMs: expected number, got string/);
  });

  it('runs from a YAML config, serves /healthz, writes readings, and stops cleanly on SIGTERM', async () => {
    const file = join(tempDir('cli'), 'processor.yaml');
    // Port 0: the processor binds a free port itself and names it in its "processor started" log
    // line, so no other test can take the port between picking and binding it, and the /healthz
    // that answers is this processor's own.
    writeFileSync(file, [`nats: { servers: ["${s!.nats.url}"] }`, `influx: { url: "${s!.influx.url}" }`, `tiers: ${JSON.stringify(KEEP_FOREVER)}`, 'partitions: { count: 4 }', 'http: { port: 0 }', 'log: { level: info }', ''].join('\n'));
    const p = run(['processor', '--config', file]);
    const port = await waitFor(() => (p.closed() ? 'exited' : startedPort(p.output())), { timeoutMs: 30_000, what: 'the "processor started" log line' }).catch((err: Error) => {
      p.child.kill('SIGKILL');
      throw new Error(`${err.message}\n${p.output()}`, { cause: err });
    });
    if (port === 'exited') throw new Error(`the processor exited with ${p.child.exitCode} before it started:\n${p.output()}`);
    try {
      const health = await fetch(`http://127.0.0.1:${port}/healthz`);
      expect(health.status).toBe(200);
      expect(((await health.json()) as { service: string }).service).toBe('processor');
      await publish(s!.js, envelope('cli-dev', [{ sensor: 't', ts: Date.UTC(2026, 0, 6), value: 1.5 }]));
      await waitFor(async () => (await queryRows(s!.influx, `SELECT value FROM readings WHERE device='cli-dev'`)).length === 1, { timeoutMs: 20_000, what: 'the reading' });
    } finally {
      p.child.kill('SIGTERM');
    }
    expect(await p.exited).toBe(0);
  });
});
