import { z } from 'zod';
import { registerDetector } from '../registry.js';
import { plainState } from '../state-codec.js';
import type { Detector } from '../types.js';
import { ANOMALY_FIELDS, AnomalyState, MODEL_DEFAULTS, explain, initState, stateBytes, updateState, type AnomalyModelOptions } from './model.js';

const DAY_MS = 86_400_000;

export const anomalyParams = z
  .object({
    /** Readings learned before the first score. @default 100 */
    warmup: z.number().int().min(10).max(100_000).default(MODEL_DEFAULTS.warmup),
    /** Half-life of the history the scores are calibrated on, in readings. @default 8192 */
    memory: z.number().int().min(256).max(1_000_000).default(MODEL_DEFAULTS.memory),
    /** An anomaly is rarer than once per this many readings… @default 10000 */
    rarityReadings: z.number().int().min(10).max(1e9).default(MODEL_DEFAULTS.rarityReadings),
    /** …and rarer than once per this much event time (ms). @default 604800000 (7 days) */
    rarityMs: z.number().int().min(60_000).max(3650 * DAY_MS).default(MODEL_DEFAULTS.rarityMs),
    /** An episode closes after this many readings in a row scoring below 0.2. @default 10 */
    quietReadings: z.number().int().min(1).max(10_000).default(MODEL_DEFAULTS.quietReadings),
  })
  .strict();

type Params = z.infer<typeof anomalyParams>;

function create(p: Params): Detector<AnomalyState> {
  const o: AnomalyModelOptions = {
    ...MODEL_DEFAULTS,
    warmup: p.warmup,
    memory: p.memory,
    rarityReadings: p.rarityReadings,
    rarityMs: p.rarityMs,
    quietReadings: p.quietReadings,
    calibration: { ...MODEL_DEFAULTS.calibration, memory: p.memory },
  };
  const init = (): AnomalyState => initState(o);
  // Version 1: the scalar fields, then the two typed arrays (their sizes follow from the options).
  const fields = plainState('anomaly', 1, init, ANOMALY_FIELDS);
  // One result object, refilled per reading: the pipeline reads it before the next update.
  const result = { score: 0, active: false };
  return {
    init,
    snapshot(s, w) {
      fields.snapshot(s, w);
      w.f64s(s.f64);
      w.f32s(s.f32);
    },
    restore(r) {
      const s = fields.restore(r);
      r.f64s(s.f64, 'anomaly.f64');
      r.f32s(s.f32, 'anomaly.f32');
      return s;
    },
    update(s, ts, v) {
      result.score = updateState(s, o, ts, v);
      result.active = s.active;
      return result;
    },
    describe(s, v) {
      if (!s.active) return `value ${v} back to usual for this sensor`;
      return `value ${v} is unusual for this sensor: ${explain(o, s.why)} (p ≈ ${s.tail.toPrecision(2)})`;
    },
  };
}

registerDetector({ type: 'anomaly', params: anomalyParams, create });

export { stateBytes };
