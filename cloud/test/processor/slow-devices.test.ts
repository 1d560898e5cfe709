import { describe, expect, it } from 'vitest';
import { loadProcessorConfig } from '../../src/processor/config.js';
import { Effects, PartitionPipeline } from '../../src/processor/pipeline.js';

const T0 = Date.UTC(2025, 0, 6);

describe('devices that report every 5 minutes, sharing a partition', () => {
  it('are neither silent nor dropped out between their readings, and sessions span many readings', () => {
    const p = new PartitionPipeline(loadProcessorConfig({}));
    const fx = new Effects();
    const alerts: string[] = [];
    let sessions = 0;
    // 40 devices, one sensor each, every 5 minutes for two days; device d reports d × 7 s after
    // the others, so at any moment most devices are minutes behind the newest one.
    for (let m = 0; m < 576; m++) {
      for (let d = 0; d < 40; d++) {
        const ts = T0 + m * 300_000 + d * 7_000;
        p.process({ v: 1, device: `dev-${d}`, epoch: 'testepoch', seq: m + 1, clock: { synced: true, now: ts }, readings: [{ sensor: 's', ts, value: 20 + Math.sin(m / 10 + d) }] }, fx);
        for (const a of fx.alerts) if (a.state === 'firing') alerts.push(`${a.device} ${a.rule}`);
        sessions += fx.sessions.length;
        fx.clear();
      }
    }
    expect(alerts.filter((a) => a.endsWith('dropout'))).toEqual([]);
    // Sessions are cut at the hour (maxLengthMs): 12 readings each, not one per reading.
    expect(sessions).toBeLessThan(40 * 48 + 40);
  });

  it('but one that stops reporting is a dropout, once', () => {
    const p = new PartitionPipeline(loadProcessorConfig({}));
    const fx = new Effects();
    const dropouts: string[] = [];
    for (let m = 0; m < 200; m++) {
      for (let d = 0; d < 3; d++) {
        if (d === 2 && m >= 100) continue; // dev-2 goes quiet after 100 readings
        const ts = T0 + m * 300_000 + d * 1000;
        p.process({ v: 1, device: `dev-${d}`, epoch: 'testepoch', seq: m + 1, clock: { synced: true, now: ts }, readings: [{ sensor: 's', ts, value: 20 + (m % 7) }] }, fx);
        for (const a of fx.alerts) if (a.state === 'firing' && a.rule === 'dropout') dropouts.push(`${a.device} ${(a.start - T0) / 1000} s`);
        fx.clear();
      }
    }
    // Silent at its last reading (99) + its gap of 10 readings.
    // Silent from its last reading (99 × 300 s + 2 s) plus its gap of 10 readings.
    expect(dropouts).toEqual(['dev-2 32702 s']);
  });
});
