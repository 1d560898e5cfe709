// Kappa replay (`fieldline-cloud replay`): a live run, then a replay of the same range into a
// target of its own. The two are equal point by point; a second replay is byte-identical.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { STREAMS } from '@fieldline/contract';
import { cleanupAll, tempDir, waitFor } from '@fieldline/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { drained, startProcessor, type ProcessorConfigInput } from '../../src/processor/index.js';
import { influxDump, publishAll, streamDump } from './audit.js';
import { PARTITIONS, silentLogger, startServices, stopServices, type Services, KEEP_FOREVER } from './helpers.js';
import { workload } from './workload.js';

const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--conditions=fieldline-src', '--import', 'tsx', CLI, ...args], { timeout: 120_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
    );
  });
}

describe('fieldline-cloud replay', () => {
  let s: Services | undefined;
  let file = '';
  const config = (): ProcessorConfigInput => ({
    nats: { servers: [s!.nats.url] },
    influx: { url: s!.influx.url, database: 'fieldline' },
    tiers: KEEP_FOREVER,
    partitions: { count: PARTITIONS },
    sink: { flushIntervalMs: 100 },
    http: { port: null },
    detectors: [{ rule: 'anomaly', type: 'anomaly' }, { rule: 'stuck', type: 'flatline' }, { rule: 'dropout', type: 'dropout' }, { rule: 'hot', type: 'threshold', severity: 'critical', params: { above: 30 } }],
  });

  beforeAll(async () => {
    s = await startServices();
    file = join(tempDir('replay'), 'processor.yaml');
    writeFileSync(file, stringify({ ...config(), log: { level: 'warn' } }));
    const p = await startProcessor(config(), { logger: silentLogger });
    await publishAll(s.js, workload({ devices: 5, envelopes: 300, seed: 8 }), PARTITIONS);
    await waitFor(() => drained(s!.nc, { partitions: PARTITIONS }), { timeoutMs: 60_000, intervalMs: 200, what: 'the live run' });
    await p.close();
  });
  afterAll(async () => {
    await stopServices(s);
    cleanupAll();
  });

  it('replays the whole stream into its own database and subjects: equal to the live run point by point, and byte-identical when run again', async () => {
    const run = await cli(['replay', '--config', file, '--from', '1', '--into', 'replay_a']);
    expect(run.code, run.stderr).toBe(0);
    const last = (await (await s!.nc.jetstreamManager()).streams.info(STREAMS.TELEMETRY.name)).state.last_seq;
    expect(run.stdout).toMatch(new RegExp(`^range +1\\.\\.${last}$`, 'm'));
    const counts = Object.fromEntries(run.stdout.split('\n').filter(Boolean).map((l) => [l.slice(0, 18).trim(), l.slice(19)]));

    const liveDb = await influxDump(s!.influx, 'fieldline', { rollups: true });
    const first = await influxDump(s!.influx, 'replay_a', { rollups: true });
    expect(first.readings!.length).toBeGreaterThan(1000);
    // 25 minutes of readings: 1 m rollups (no 1 h window closes).
    expect(first.readings_1m!.length).toBeGreaterThan(100);
    expect(first).toEqual(liveDb);
    const live = { alerts: await streamDump(s!.nc, STREAMS.ALERTS.name), sessions: await streamDump(s!.nc, STREAMS.SESSIONS.name) };
    const replayed = await streamDump(s!.nc, 'REPLAY_replay_a');
    // Never on the live subjects; the same events.
    expect(replayed.every((m) => m.subject.startsWith('fl.replay.replay_a.'))).toBe(true);
    const payloads = (xs: { data: string }[]): string[] => xs.map((m) => m.data).sort();
    expect(payloads(replayed.filter((m) => m.subject.includes('.alerts.')))).toEqual(payloads(live.alerts));
    expect(payloads(replayed.filter((m) => m.subject.includes('.sessions.')))).toEqual(payloads(live.sessions));
    expect(Number(counts.alerts)).toBe(live.alerts.length);
    expect(Number(counts.sessions)).toBe(live.sessions.length);
    expect(live.alerts.length).toBeGreaterThan(10);

    // Again, into the same target and from a time rather than a sequence: the same bytes, in the same order.
    const t0 = new Date((await (await s!.nc.jetstreamManager()).streams.getMessage(STREAMS.TELEMETRY.name, { seq: 1 })).time.getTime() - 1000).toISOString();
    const again = await cli(['replay', '--config', file, '--from', t0, '--into', 'replay_a']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toBe(run.stdout);
    expect(await influxDump(s!.influx, 'replay_a', { rollups: true })).toEqual(first);
    const second = await streamDump(s!.nc, 'REPLAY_replay_a');
    expect(second.map((m) => [m.subject, m.data])).toEqual(replayed.map((m) => [m.subject, m.data]));
  }, 180_000);

  it('a range replays only its messages; the live database is refused as a target', async () => {
    const r = await cli(['replay', '--config', file, '--from', '1', '--to', '100', '--into', 'replay_b']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^messages +100$/m);
    const refused = await cli(['replay', '--config', file, '--from', '1', '--into', 'fieldline']);
    expect(refused.code).toBe(64);
    expect(refused.stderr).toMatch(/^fieldline-cloud: --into fieldline is the live processor's target/);
  }, 120_000);
});
