import { z } from 'zod';
import { registerDetector } from '../registry.js';
import { clamp01, type Detector } from '../types.js';

export const flatlineParams = z
  .object({
    /** Event time the value must stay within `epsilon` of the same value to count as stuck. */
    forMs: z.number().int().positive(),
    /** Changes up to this are "no change". @default 0 */
    epsilon: z.number().nonnegative().default(0),
  })
  .strict();

type Params = z.infer<typeof flatlineParams>;
interface State {
  since: number;
  value: number;
  last: number;
}

function create(p: Params): Detector<State> {
  return {
    init: () => ({ since: NaN, value: NaN, last: NaN }),
    update(s, ts, v) {
      if (Number.isNaN(s.since) || Math.abs(v - s.value) > p.epsilon) {
        s.since = ts;
        s.value = v;
      }
      s.last = ts;
      const stuck = Math.max(0, ts - s.since);
      return { score: clamp01(stuck / (2 * p.forMs)), active: stuck >= p.forMs };
    },
    describe: (s, v) => (s.since === s.last ? `value ${v} changing again` : `value ${s.value} unchanged for ${s.last - s.since} ms`),
  };
}

registerDetector({ type: 'flatline', params: flatlineParams, create });
