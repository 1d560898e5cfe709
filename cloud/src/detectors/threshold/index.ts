import { z } from 'zod';
import { registerDetector } from '../registry.js';
import { plainState } from '../state-codec.js';
import { clamp01, type Detector } from '../types.js';

export const thresholdParams = z
  .object({
    /** Fires when the value goes above this. */
    above: z.number().optional(),
    /** Fires when the value goes below this. */
    below: z.number().optional(),
    /** Once firing, the value must come back this far inside the limit to clear. @default 0 */
    hysteresis: z.number().nonnegative().default(0),
  })
  .strict()
  .refine((p) => p.above !== undefined || p.below !== undefined, { message: 'needs above or below' });

type Params = z.infer<typeof thresholdParams>;
interface State {
  active: boolean;
}

/** Score: 1 while firing; inside the limit it ramps from 0 to just under 0.5 across the hysteresis band. */
function create(p: Params): Detector<State> {
  const band = p.hysteresis;
  // How far past the clear level (limit minus hysteresis) a value is, in band units; >= 1 means past the limit.
  const excess = (v: number): number => {
    const hi = p.above === undefined ? -Infinity : band > 0 ? (v - (p.above - band)) / band : v > p.above ? 1 : 0;
    const lo = p.below === undefined ? -Infinity : band > 0 ? (p.below + band - v) / band : v < p.below ? 1 : 0;
    return Math.max(hi, lo);
  };
  const init = (): State => ({ active: false });
  return {
    ...plainState('threshold', 1, init, ['active']),
    init,
    update(s, _ts, v) {
      const beyond = (p.above !== undefined && v > p.above) || (p.below !== undefined && v < p.below);
      const x = excess(v);
      s.active = beyond || (s.active && x > 0);
      const score = s.active ? Math.max(0.5, clamp01(x)) : Math.min(0.49, clamp01(x) * 0.49);
      return { score, active: s.active };
    },
    describe(s, v) {
      const limit = p.above !== undefined && (p.below === undefined || v > p.above - band) ? `above ${p.above}` : `below ${p.below}`;
      return `value ${v} ${s.active ? 'beyond' : 'back within'} limit (${limit})`;
    },
  };
}

registerDetector({ type: 'threshold', params: thresholdParams, create });
