import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadProcessorConfig, ProcessorConfigError } from '../../src/processor/config.js';

const example = fileURLToPath(new URL('../../config/processor.example.yaml', import.meta.url));

describe('processor config', () => {
  it('loads the shipped example and applies defaults', () => {
    const cfg = loadProcessorConfig(example);
    expect(cfg.partitions.count).toBe(8);
    expect(cfg.detectors.map((d) => d.type)).toEqual(['anomaly', 'flatline', 'dropout', 'threshold', 'threshold', 'rate-of-change', 'window']);
    expect(cfg.tiers).toEqual(loadProcessorConfig({}).tiers);
    expect(cfg.detectors[0]!.params).toMatchObject({ warmup: 100, memory: 8192, rarityReadings: 10_000 });
    expect(loadProcessorConfig({}).windows).toEqual({ gapMs: 30_000, gapReadings: 10, maxLengthMs: 3_600_000, allowedLatenessMs: 10_000, deviceSilenceMs: 120_000 });
    // With no detectors configured, every sensor gets the defaults (the example starts with them).
    expect(loadProcessorConfig({}).detectors).toEqual(cfg.detectors.slice(0, 3));
  });

  it.each([
    [{ nats: { port: 4222 } }, /nats\.port: unknown key/],
    [{ windows: { gapMs: 'soon' } }, /windows\.gapMs: expected number, got string/],
    [{ windows: { gapMs: 10_000, maxLengthMs: 5_000 } }, /windows\.maxLengthMs: must be at least windows\.gapMs/],
    [{ partitions: { count: 4, owned: [1, 7] } }, /partitions\.owned: unknown key/],
    [{ coordination: { leaseMs: 2000, renewMs: 1000 } }, /coordination\.renewMs: must be at most a third of coordination\.leaseMs/],
    [{ detectors: [{ rule: 'x', type: 'threshold', params: { above: 'hot' } }] }, /detectors\[0\]\.params\.above: expected number/],
    [{ detectors: [{ rule: 'x', type: 'magic' }] }, /detectors\[0\]\.type: unknown detector "magic"/],
    [{ detectors: [{ rule: 'Bad Rule', type: 'dropout' }] }, /detectors\[0\]\.rule: must match/],
    [{ influx: { api: 'v4' } }, /influx\.api: invalid enum value/],
    [{ tiers: { rollups: [{ name: '7m', every: '7m', retention: 'inf' }] } }, /tiers\.rollups\[0\]\.every: must be at least 1s and divide 24h/],
    [{ detectors: [{ rule: 'w', type: 'window', params: { window: { kind: 'sliding', size: '1m', hop: '10s' }, aggregate: 'max', condition: { above: 1 } } }] }, /detectors\[0\]\.params\.window\.hop: only for a hopping window/],
  ])('rejects %j naming the key', (input, message) => {
    expect(() => loadProcessorConfig(input as Record<string, unknown>)).toThrow(ProcessorConfigError);
    expect(() => loadProcessorConfig(input as Record<string, unknown>)).toThrow(message);
  });
});
