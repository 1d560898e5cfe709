/**
 * The anomaly model's predictors (model.ts): each says where a reading should be as a Laplace
 * distribution, and `surprise` turns a reading into −ln of its two-sided tail under a mixture of
 * them; the seasonal profile's bins. Pure functions over the state's typed arrays.
 */

/** Where the mixture weights start in the state's f64 (one per predictor). */
export const W = 0;
/** Predictors: last value, level, last value + seasonal step, day bin, week bin, slow level. */
export const PREDICTORS = 6;
/** Residuals beyond this many scales update a scale clipped (an outlier cannot inflate the spread). */
export const CLIP = 6;

// Scratch space for one reading (the model is synchronous and single-threaded): the predictors'
// locations, scales and readiness, written by the model before each `surprise`.
export const locs = new Float64Array(PREDICTORS);
export const scales = new Float64Array(PREDICTORS);
export const ready = new Uint8Array(PREDICTORS);
const dens = new Float64Array(PREDICTORS);

export function binOf(bins: number, period: number, ts: number): number {
  const phase = ts - Math.floor(ts / period) * period;
  const b = Math.floor((phase / period) * bins);
  return b < bins ? b : bins - 1;
}

/** P(X ≤ x) for X ~ Laplace(loc, b). */
function laplaceCdf(x: number, loc: number, b: number): number {
  const z = (x - loc) / b;
  return z < 0 ? 0.5 * Math.exp(z) : 1 - 0.5 * Math.exp(-z);
}

/**
 * Surprise of `v` under the mixture of predictors [from, to): −ln of its two-sided tail
 * probability (half a quantum of slack, so a one-step change of a coarse sensor is not news);
 * then the weights' Bayes update with a fixed share. NaN when no predictor is ready.
 */
export function surprise(f: Float64Array, from: number, to: number, v: number, floor: number, half: number, share: number): number {
  let wsum = 0;
  let count = 0;
  for (let m = from; m < to; m++) if (ready[m]) (wsum += f[W + m]!), count++;
  if (count === 0) return NaN;
  let lo = 0;
  let hi = 0;
  let tot = 0;
  for (let m = from; m < to; m++) {
    if (!ready[m]) continue;
    const b = scales[m]! > floor ? scales[m]! : floor;
    const w = f[W + m]! / wsum;
    const loc = locs[m]!;
    const dist = Math.abs(v - loc) / b;
    const near = Math.exp(-dist);
    const hb = half / b;
    // The lower tail at v + half and the upper at v − half (two-sided, half a quantum of slack).
    if (dist >= hb && dist <= 700 && hb <= 700) {
      // Both edges on the same side of loc: their tails are the centre's e^(−dist) times
      // e^(∓half/b), so two exps instead of three (the bounds keep every factor normal).
      const e = hb === 0 ? 1 : Math.exp(-hb);
      const far = 0.5 * near * e;
      const close = 0.5 * (near / e);
      // The same arithmetic as laplaceCdf on each edge, on purpose: above loc the near tail is
      // 1 − CDF, so it saturates at 0 beyond ~37 scales (steps of 2^-53) where the lower tail
      // keeps its tiny value. The calibration is tuned to that; see docs/detectors.md.
      if (v >= loc) {
        lo += w * (1 - far);
        hi += w * (1 - (1 - close));
      } else {
        lo += w * close;
        hi += w * (1 - far);
      }
    } else {
      lo += w * laplaceCdf(v + half, loc, b);
      hi += w * (1 - laplaceCdf(v - half, loc, b));
    }
    const d = (w * near) / b + 1e-300;
    dens[m] = d;
    tot += d;
  }
  if (count > 1) for (let m = from; m < to; m++) if (ready[m]) f[W + m] = wsum * ((1 - share) * (dens[m]! / tot) + share / count);
  const t = 2 * (lo < hi ? lo : hi);
  return t >= 1 ? 0 : -Math.log(t > 1e-300 ? t : 1e-300);
}

export function binScale(f: Float32Array, i: number, local: number): number {
  // Shrunk towards the local scale while the bin has seen few periods.
  const c = f[i + 2]!;
  const m = f[i + 1]!;
  return Math.sqrt((c * m * m + local * local) / (c + 1));
}

export function learnBin(f: Float32Array, i: number, v: number, weight: number, forget: number, local: number): void {
  const c = f[i + 2]!;
  if (c === 0) {
    f[i] = v;
    f[i + 1] = local;
    f[i + 2] = weight;
    return;
  }
  const a = Math.max(weight / (c + weight), weight * forget);
  const b = Math.max(f[i + 1]!, local);
  f[i + 1] = f[i + 1]! + a * (Math.min(Math.abs(v - f[i]!), CLIP * b) - f[i + 1]!);
  f[i] = f[i]! + a * (v - f[i]!);
  f[i + 2] = Math.min(c + weight, 1000);
}
