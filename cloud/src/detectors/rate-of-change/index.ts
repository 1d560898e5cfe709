import { z } from 'zod';
import { registerDetector } from '../registry.js';
import { plainState } from '../state-codec.js';
import { ratioScore, type Detector } from '../types.js';

export const rateParams = z
  .object({
    /** Largest normal change per second of event time (absolute). */
    maxPerSecond: z.number().positive(),
    /** Clears once the rate falls below maxPerSecond × (1 − hysteresis). @default 0.2 */
    hysteresis: z.number().min(0).lt(1).default(0.2),
  })
  .strict();

type Params = z.infer<typeof rateParams>;
interface State {
  ts: number;
  value: number;
  rate: number;
  active: boolean;
}

function create(p: Params): Detector<State> {
  const init = (): State => ({ ts: NaN, value: NaN, rate: 0, active: false });
  return {
    ...plainState('rate-of-change', 1, init, ['ts', 'value', 'rate', 'active']),
    init,
    update(s, ts, v) {
      const dt = ts - s.ts;
      // Only forward steps in event time define a rate; a reading out of order is compared later.
      if (!(dt > 0)) {
        if (Number.isNaN(s.ts)) (s.ts = ts), (s.value = v);
        return { score: 0, active: s.active };
      }
      const rate = Math.abs(v - s.value) / (dt / 1000);
      s.ts = ts;
      s.value = v;
      s.rate = rate;
      s.active = s.active ? rate >= p.maxPerSecond * (1 - p.hysteresis) : rate > p.maxPerSecond;
      return { score: ratioScore(rate / p.maxPerSecond), active: s.active };
    },
    describe: (s) => `changing ${s.rate.toPrecision(4)}/s (limit ${p.maxPerSecond}/s)`,
  };
}

registerDetector({ type: 'rate-of-change', params: rateParams, create });
