import { partitionOf, STREAMS, type AlertEvent, type Envelope, type SessionSummary } from '@fieldline/contract';
import { cleanupAll, waitFor } from '@fieldline/harness';
import { AckPolicy, DeliverPolicy } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drained, loadProcessorConfig, startProcessor, type ProcessorConfigInput } from '../../src/processor/index.js';
import { Effects, PartitionPipeline } from '../../src/processor/pipeline.js';
import { PARTITIONS, baseConfig, envelope, publish, silentLogger, startServices, stopServices, type Services } from './helpers.js';

const T0 = Date.UTC(2026, 0, 5, 8);

/** 2 devices, 1 reading/s for 2 min; "hot" from 40 s to 70 s; a heartbeat at the end closes the sessions. */
function envelopes(): Envelope[] {
  const out: Envelope[] = [];
  for (let k = 0; k < 120; k += 5) {
    for (const device of ['dev-r1', 'dev-r2']) {
      out.push(envelope(device, Array.from({ length: 5 }, (_, i) => ({ sensor: 'a', ts: T0 + (k + i) * 1000, value: k + i >= 40 && k + i < 70 ? 60 : 20 + ((k + i) % 3) }))));
    }
  }
  for (const device of ['dev-r1', 'dev-r2']) out.push(envelope(device, [], T0 + 600_000));
  return out;
}

async function stream<T>(s: Services, name: string): Promise<T[]> {
  const jsm = await s.nc.jetstreamManager();
  const cname = `read-${name}-${Math.floor(performance.now())}`;
  await jsm.consumers.add(name, { name: cname, ack_policy: AckPolicy.None, deliver_policy: DeliverPolicy.All });
  const total = (await jsm.streams.info(name)).state.messages;
  const out: T[] = [];
  if (total > 0) for await (const m of await (await s.js.consumers.get(name, cname)).fetch({ max_messages: total, expires: 2000 })) out.push(m.json<T>());
  return out;
}

const canon = (xs: unknown[]) => xs.map((x) => JSON.stringify(x)).sort();

describe('processor restart: state re-derived by replay', () => {
  let s: Services | undefined;
  const envs = envelopes();
  const config = (): ProcessorConfigInput =>
    baseConfig(s!, {
      windows: { gapMs: 10_000, maxLengthMs: 3_600_000, allowedLatenessMs: 2_000, deviceSilenceMs: 120_000 },
      alerts: { anomalyScore: 0.5, clearMs: 3_000, clearReadings: 1 },
      detectors: [{ rule: 'hot', type: 'threshold', severity: 'critical', params: { above: 50 } }, { rule: 'base', type: 'baseline', params: { warmup: 10 } }],
    });

  beforeAll(async () => {
    s = await startServices();
  });
  afterAll(async () => {
    await stopServices(s);
    cleanupAll();
  });

  it('a processor restarted mid-session and mid-alert gives the same alerts and sessions as one uninterrupted run', async () => {
    const done = () => drained(s!.nc, { partitions: PARTITIONS });
    const half = envs.findIndex((e) => e.readings[0]?.ts === T0 + 55_000);
    let p = await startProcessor(config(), { logger: silentLogger });
    for (const e of envs.slice(0, half)) await publish(s!.js, e);
    await waitFor(done, { timeoutMs: 30_000, intervalMs: 100, what: 'first half' });
    await p.close();
    p = await startProcessor(config(), { logger: silentLogger });
    for (const e of envs.slice(half)) await publish(s!.js, e);
    await waitFor(done, { timeoutMs: 30_000, intervalMs: 100, what: 'second half' });
    await p.close();

    // Reference: the pure pipeline over each partition's envelopes in stream order, no restart.
    const cfg = loadProcessorConfig(config());
    const fx = new Effects();
    const pipelines = new Map<number, PartitionPipeline>();
    for (const e of envs) {
      const part = partitionOf(e.device, PARTITIONS);
      if (!pipelines.has(part)) pipelines.set(part, new PartitionPipeline(cfg));
      pipelines.get(part)!.process(e, fx);
    }
    expect(fx.alerts.filter((a) => a.rule === 'hot').map((a) => [a.device, a.state, a.start])).toEqual([
      ['dev-r1', 'firing', T0 + 40_000],
      ['dev-r2', 'firing', T0 + 40_000],
      ['dev-r1', 'resolved', T0 + 40_000],
      ['dev-r2', 'resolved', T0 + 40_000],
    ]);
    expect(canon(await stream<AlertEvent>(s!, STREAMS.ALERTS.name))).toEqual(canon(fx.alerts));
    expect(canon(await stream<SessionSummary>(s!, STREAMS.SESSIONS.name))).toEqual(canon(fx.sessions));
    expect(fx.sessions.map((x) => [x.device, x.count, x.closedBy])).toEqual([
      ['dev-r1', 120, 'dropout'],
      ['dev-r2', 120, 'dropout'],
    ]);
  });
});
