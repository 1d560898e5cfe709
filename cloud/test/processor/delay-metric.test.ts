// fieldline_processor_delay_seconds: how far behind the processor is, in time. Each live message
// is observed once, from its store in JetStream to the end of its processing; a message that
// waited in the stream while no processor ran shows the wait.
import { STREAMS } from '@fieldline/contract';
import { cleanupAll, waitFor } from '@fieldline/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProcessor } from '../../src/processor/index.js';
import { baseConfig, drained, envelope, publish, silentLogger, startServices, stopServices, type Services } from './helpers.js';

type Sample = { value: number; labels: Record<string, string | number>; metricName?: string };
const bucket = (values: Sample[], le: number): number => values.find((v) => v.metricName?.endsWith('_bucket') && v.labels.le === le)?.value ?? NaN;
const count = (values: Sample[]): number => values.find((v) => v.metricName?.endsWith('_count'))?.value ?? NaN;

describe('the processor delay histogram', () => {
  let s: Services | undefined;
  beforeAll(async () => {
    s = await startServices();
    // The gateway's stream, made before any processor runs (as when the gateway starts first).
    await (await s.nc.jetstreamManager()).streams.add({ name: STREAMS.TELEMETRY.name, subjects: [...STREAMS.TELEMETRY.subjects] });
  });
  afterAll(async () => {
    await stopServices(s);
    cleanupAll();
  });

  it('observes each live message once, and a message held in the stream by its wait', async () => {
    const t0 = Date.UTC(2026, 0, 9);
    // Stored while no processor runs: these wait at least 1.5 s before they are processed.
    const held = ['delay-a', 'delay-b', 'delay-c'].map((d) => envelope(d, [{ sensor: 't', ts: t0, value: 20 }]));
    for (const e of held) await publish(s!.js, e);
    await new Promise((r) => setTimeout(r, 1500));
    const p = await startProcessor(baseConfig(s!), { logger: silentLogger });
    try {
      await waitFor(() => drained(s!), { timeoutMs: 30_000, intervalMs: 50, what: 'the held messages committed' });
      const first = (await p.metrics.delay.get()).values as Sample[];
      expect(count(first)).toBe(held.length);
      expect(bucket(first, 1)).toBe(0);
      expect(bucket(first, 60)).toBe(held.length);

      // Stored while the processor runs (and idles): processed within a second.
      const live = ['delay-a', 'delay-b', 'delay-c', 'delay-d'].map((d) => envelope(d, [{ sensor: 't', ts: t0 + 1000, value: 21 }]));
      for (const e of live) await publish(s!.js, e);
      await waitFor(() => drained(s!), { timeoutMs: 30_000, intervalMs: 50, what: 'the live messages committed' });
      const then = (await p.metrics.delay.get()).values as Sample[];
      expect(count(then)).toBe(held.length + live.length);
      expect(bucket(then, 1)).toBe(live.length);
    } finally {
      await p.close();
    }
  });
});
