import { z } from 'zod';
import { registerDetector } from '../registry.js';
import { plainState } from '../state-codec.js';
import { ratioScore, type Detector } from '../types.js';

export const baselineParams = z
  .object({
    /** EWMA weight of a new reading. @default 0.05 */
    alpha: z.number().gt(0).lte(1).default(0.05),
    /** z-like score at which the rule fires. @default 4 */
    z: z.number().positive().default(4),
    /** Readings used to learn the baseline before scoring. @default 20 */
    warmup: z.number().int().min(1).default(20),
    /** Clears once z falls below z × (1 − hysteresis). @default 0.25 */
    hysteresis: z.number().min(0).lt(1).default(0.25),
    /** Absolute floor of the spread (in the sensor's unit). @default 1e-6 */
    minSpread: z.number().positive().default(1e-6),
    /**
     * The spread never falls below this fraction of the sensor's long-run spread (an EWMA 20 times
     * slower), so a plateau, where the short-run spread collapses, cannot make every ordinary
     * step look like many sigmas. @default 0.5
     */
    spreadFloor: z.number().min(0).max(10).default(0.5),
  })
  .strict();

type Params = z.infer<typeof baselineParams>;
interface State {
  n: number;
  mean: number;
  /** Exponentially weighted mean absolute deviation: a robust spread (≈ 0.8 σ for normal data). */
  mad: number;
  /** The same, 20 times slower: the sensor's long-run spread. */
  slowMad: number;
  /** Smallest non-zero change seen: the sensor's resolution, also a floor of the spread. */
  quantum: number;
  last: number;
  active: boolean;
}

// σ ≈ 1.2533 × mean absolute deviation for normally distributed data.
const MAD_TO_SIGMA = 1.2533;

function create(p: Params): Detector<State> {
  const sigmaOf = (s: State): number => Math.max(MAD_TO_SIGMA * Math.max(s.mad, p.spreadFloor * s.slowMad), p.minSpread, Number.isFinite(s.quantum) ? s.quantum : 0);
  const init = (): State => ({ n: 0, mean: 0, mad: 0, slowMad: 0, quantum: Infinity, last: NaN, active: false });
  return {
    ...plainState('baseline', 1, init, ['n', 'mean', 'mad', 'slowMad', 'quantum', 'last', 'active']),
    init,
    update(s, _ts, v) {
      let score = 0;
      const d = Math.abs(v - s.last);
      if (d > 0 && d < s.quantum) s.quantum = d;
      s.last = v;
      const sigma = sigmaOf(s);
      if (s.n >= p.warmup) {
        const z = Math.abs(v - s.mean) / sigma;
        s.active = s.active ? z >= p.z * (1 - p.hysteresis) : z >= p.z;
        score = ratioScore(z / p.z);
      }
      // Winsorize before learning, so an outlier cannot drag the baseline it is judged against.
      const limit = p.z * sigma;
      const x = s.n < p.warmup ? v : Math.min(s.mean + limit, Math.max(s.mean - limit, v));
      s.n++;
      const a = Math.max(p.alpha, 1 / s.n);
      s.mean += a * (x - s.mean);
      const dev = Math.abs(x - s.mean);
      s.mad += a * (dev - s.mad);
      s.slowMad += Math.max(a / 20, 1 / s.n) * (dev - s.slowMad);
      return { score, active: s.active };
    },
    describe(s, v) {
      const z = Math.abs(v - s.mean) / sigmaOf(s);
      return `value ${v} is ${z.toFixed(2)} robust sigmas from baseline ${s.mean.toPrecision(6)}`;
    },
  };
}

registerDetector({ type: 'baseline', params: baselineParams, create });
