/**
 * Online tail calibration of a non-negative statistic x by peaks over threshold (after SPOT,
 * Siffer et al., KDD 2017). The threshold q comes from an exponentially weighted mean and variance
 * of ln(1 + x) (robust to the outliers it is there to judge): q = e^(mean + k·sd) − 1. Above q,
 * the excess y = x − q gets one of two tails, whichever has explained the excesses seen so far
 * better (log-likelihood, exponentially weighted):
 *   - light (exponential):  P(Y > y) = e^(−y/β),           β = median excess / ln 2;
 *   - heavy (Pareto-like):  P(Y > y) = (1 + y/s)^(−1/ξ),    s = 1 + q, ξ = mean of ln(1 + y/s)
 *     (a generalized Pareto tail with shape ξ).
 * Noise-like sensors get the light tail, so a reading far outside their noise is very unlikely;
 * spiky ones (counts, network traffic) get the heavy tail, so their routine bursts are not.
 * `tail(x)` = exceedance frequency × P(Y > x − q): the probability, learned from this statistic's own
 * history, of a value at least as high as x.
 *
 * State: CAL_SLOTS numbers per statistic at cal[i…]. Pure: same inputs in the same order, same outputs.
 */
export interface CalibratorOptions {
  /** Half-life of the history, in updates. */
  memory: number;
  /** Threshold in standard deviations of ln(1 + x) above its mean. */
  thresholdSd: number;
}

// cal[i + …]: mean and variance of ln(1+x), exceedance frequency, mean excess β, heavy shape ξ,
// log-likelihood advantage of the heavy tail (mean and mean square), count.
const MEAN = 0;
const VAR = 1;
const FREQ = 2;
const BETA = 3;
const XI = 4;
const LL = 5;
const LL2 = 6;
const N = 7;
export const CAL_SLOTS = 8;
const LN2 = Math.log(2);

/** Starts a statistic at the distribution it would have under a calibrated model, so the first readings are judged sensibly. */
export function initCalibrator(cal: Float64Array, i: number, mean: number, variance: number, beta: number): void {
  cal[i + MEAN] = mean;
  cal[i + VAR] = variance;
  cal[i + FREQ] = 0.05;
  cal[i + BETA] = beta;
  cal[i + XI] = 0.2;
  cal[i + LL] = 0;
  cal[i + LL2] = 0;
  cal[i + N] = 0;
}

/**
 * The heavy tail is used only where it explained the excesses significantly better (its mean
 * log-likelihood advantage more than two standard errors above 0): where the two are near-tied,
 * noise decides nothing and the sensor keeps the light tail of noise-like data.
 */
function heavy(cal: Float64Array, i: number, memory: number): boolean {
  const ll = cal[i + LL]!;
  if (ll <= 0) return false;
  const exceedances = Math.min(cal[i + N]!, memory) * cal[i + FREQ]!;
  const variance = Math.max(cal[i + LL2]! - ll * ll, 1e-12);
  return ll > 2 * Math.sqrt(variance / Math.max(exceedances, 1));
}

/** Tail probability of `x` (≥ 0) under the history so far. */
export function tailOf(cal: Float64Array, i: number, x: number, o: CalibratorOptions): number {
  const q = Math.exp(cal[i + MEAN]! + o.thresholdSd * Math.sqrt(cal[i + VAR]!)) - 1;
  return x > q ? tailAbove(cal, i, x - q, 1 + q, o) : 1;
}

/** The tail beyond the threshold: excess `y`, heavy-tail scale `s` = 1 + q. */
function tailAbove(cal: Float64Array, i: number, y: number, s: number, o: CalibratorOptions): number {
  // With few excesses seen the tail's scale is uncertain: it is taken at an upper confidence
  // bound (relative error ≈ 1/√count), so a young history is cautious rather than overconfident.
  const count = Math.min(cal[i + N]!, (o.memory / LN2) | 0) * cal[i + FREQ]!;
  const widen = 1 + 2 / Math.sqrt(count + 1);
  const t = cal[i + FREQ]! * (heavy(cal, i, o.memory) ? Math.exp(-Math.log1p(y / s) / (widen * Math.max(cal[i + XI]!, 1e-3))) : Math.exp(-y / (widen * Math.max(cal[i + BETA]!, 1e-9))));
  return t < 1 ? t : 1;
}

/** `x` joins the history, with `weight` (≤ 1) times the usual learning rate. */
export function learn(cal: Float64Array, i: number, x: number, o: CalibratorOptions, weight = 1): void {
  step(cal, i, x, o, false, weight);
}

/**
 * One update: the tail probability of `x` under the history so far (when `judge`; else 1), then
 * `x` joins the history with `weight` times the usual learning rate. The threshold is computed
 * once for both (this runs ten times per reading).
 */
export function step(cal: Float64Array, i: number, x: number, o: CalibratorOptions, judge: boolean, weight = 1): number {
  return stepLn(cal, i, x, Math.log1p(x), o, judge, weight);
}

/** {@link step} with `lx` = ln(1 + x) known already (the model computes it for a single surprise's cap). */
export function stepLn(cal: Float64Array, i: number, x: number, lx: number, o: CalibratorOptions, judge: boolean, weight = 1): number {
  const mean = cal[i + MEAN]!;
  const variance = cal[i + VAR]!;
  const sd = Math.sqrt(variance);
  const lq = mean + o.thresholdSd * sd;
  // Compared in log space, so the threshold itself (an exp) is only needed for an excess.
  const over = lx > lq;
  const freq = cal[i + FREQ]!;
  const n = cal[i + N]! + 1;
  // Learning rate: a plain average at first, then exponential forgetting with the half-life.
  const eta = weight * Math.max(1 / (n + 5), LN2 / o.memory);
  let tail = 1;
  if (over) {
    const q = Math.exp(lq) - 1;
    const s = 1 + q;
    const y = x - q;
    if (judge) tail = tailAbove(cal, i, y, s, o);
    const beta = Math.max(cal[i + BETA]!, 1e-9);
    const xi = Math.max(cal[i + XI]!, 1e-3);
    // Excess statistics are averages over exceedances only: their rate is eta / frequency.
    const r = Math.min(1, eta / Math.max(freq, 0.01));
    const ly = Math.log1p(y / s);
    // Which tail explained this excess better (log densities of y under each).
    const llLight = -Math.log(beta) - y / beta;
    const llHeavy = -Math.log(xi) - Math.log(s + y) - ly / xi;
    const adv = llHeavy - llLight;
    cal[i + LL] = (1 - r) * cal[i + LL]! + r * adv;
    cal[i + LL2] = (1 - r) * cal[i + LL2]! + r * adv * adv;
    // β from the median excess (an exponential's median is β ln 2), tracked by multiplicative
    // stochastic approximation: one huge excess moves it as much as a small one, so a single
    // anomaly cannot teach the tail that huge excesses are ordinary.
    cal[i + BETA] = beta * Math.exp(r * (y > beta * Math.LN2 ? 1 : -1));
    cal[i + XI] = xi + r * (ly - xi);
  }
  // ln(1+x) joins its mean and variance winsorized, so one outlier cannot hide the next.
  const cap = lq + 3 * sd + 1;
  const d = (lx < cap ? lx : cap) - mean;
  cal[i + MEAN] = mean + eta * d;
  cal[i + VAR] = (1 - eta) * (variance + eta * d * d);
  cal[i + FREQ] = freq + eta * ((over ? 1 : 0) - freq);
  cal[i + N] = n;
  return tail;
}

/** ln(1 + x) at which x starts to count as high (mean + k·sd of ln(1 + x)). */
export function highLevel(cal: Float64Array, i: number, sd: number): number {
  return cal[i + MEAN]! + sd * Math.sqrt(cal[i + VAR]!);
}
