import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cleanupAll, freePort, startOnFreePorts, tempDir, waitFor } from '@fieldline/harness';
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
    // The http port is picked before the processor binds it: another test file can take it
    // meanwhile, then the processor exits naming EADDRINUSE and starts again on a new one.
    const p = await startOnFreePorts(undefined, async () => {
      const port = await freePort();
      writeFileSync(file, [`nats: { servers: ["${s!.nats.url}"] }`, `influx: { url: "${s!.influx.url}" }`, `tiers: ${JSON.stringify(KEEP_FOREVER)}`, 'partitions: { count: 4 }', `http: { port: ${port} }`, 'log: { level: warn }', ''].join('\n'));
      const started = run(['processor', '--config', file]);
      const up = await waitFor(async () => (started.closed() ? 'exited' : (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => null))?.status === 200), { timeoutMs: 30_000, what: '/healthz' }).catch((err: Error) => {
        started.child.kill('SIGKILL');
        throw new Error(`${err.message}\n${started.output()}`, { cause: err });
      });
      // Its output goes into the error, so that startOnFreePorts sees "address already in use".
      if (up === 'exited') throw new Error(`the processor exited with ${started.child.exitCode} before /healthz answered:\n${started.output()}`);
      return started;
    });
    try {
      await publish(s!.js, envelope('cli-dev', [{ sensor: 't', ts: Date.UTC(2026, 0, 6), value: 1.5 }]));
      await waitFor(async () => (await queryRows(s!.influx, `SELECT value FROM readings WHERE device='cli-dev'`)).length === 1, { timeoutMs: 20_000, what: 'the reading' });
    } finally {
      p.child.kill('SIGTERM');
    }
    expect(await p.exited).toBe(0);
  });
});
