import { CAL_SLOTS, highLevel, initCalibrator, step as calibrate, stepLn as calibrateLn, type CalibratorOptions } from './calibrator.js';
import { binOf, binScale, CLIP, learnBin, locs, PREDICTORS, ready, scales, surprise, W } from './predictors.js';

/**
 * The default anomaly model: a small ensemble of predictors whose surprise is calibrated on the
 * sensor's own history, so one score means the same on any sensor. See README.md for the design.
 *
 * Per reading: (1) predictors say where the value should be, each as a Laplace distribution;
 * (2) the local channel (last value, level, last value + seasonal step) and the seasonal channel
 * (day and week profiles) turn the value into a two-sided tail probability t under their mixture
 * of predictors, surprise u = −ln t (≈ Exp(1) if the channel were perfectly calibrated); sums of
 * the last k surprises (k = 1, 4, 16, 64) catch sustained moderate change; (3) the slow channel
 * sums signed residuals against a long-memory level (k = 16, 64), for shifts and drifts the
 * adaptive predictors follow; (4) each statistic is calibrated by peaks over threshold against its
 * own history; (5) the smallest tail probability, times the number of tests, becomes a posterior
 * with a prior rate of one episode per `rarityReadings` readings and per `rarityMs`.
 */
export interface AnomalyModelOptions {
  /** Readings learned before any score. */
  warmup: number;
  /** Half-life of the calibration history, in readings. */
  memory: number;
  /** Prior: at most one unusual episode per this many readings… */
  rarityReadings: number;
  /** …and per this much event time (ms). Score 0.5 is evidence that outweighs the prior. */
  rarityMs: number;
  /** Score at which an episode opens. */
  openScore: number;
  /** An open episode closes after `quietReadings` readings in a row below `closeScore`. */
  closeScore: number;
  quietReadings: number;
  /** While an episode is open, evidence must be this many times stronger to score as high. */
  episodeDiscount: number;
  /** Fixed share of mixture weight every predictor keeps (none is ever written off). */
  share: number;
  /** Surprises above this many standard deviations (of their history) enter the long sums capped. */
  capSd: number;
  /** Window lengths of the surprise sums of the local and seasonal channels. */
  sums: readonly number[];
  /** Window lengths of the slow channel's signed sums (none: no slow channel). */
  slowSums: readonly number[];
  calibration: CalibratorOptions;
}

export const MODEL_DEFAULTS: AnomalyModelOptions = {
  warmup: 100,
  memory: 8192,
  rarityReadings: 10_000,
  rarityMs: 7 * 86_400_000,
  openScore: 0.5,
  closeScore: 0.2,
  quietReadings: 10,
  episodeDiscount: 100,
  share: 0.02,
  capSd: 1,
  sums: [1, 4, 16, 64],
  slowSums: [16, 64],
  calibration: { memory: 8192, thresholdSd: 2 },
};

const DAY = 86_400_000;
const WEEK = 7 * DAY;
const DAY_BINS = 96; // 15 minutes
const WEEK_BINS = 168; // 1 hour
const BIN = 3; // mean, mean absolute deviation, periods seen
const RING = 64;
/** RING is a power of two: an index into the ring is masked, not divided (the same for the non-negative indices used). */
const RING_MASK = RING - 1;
// Predictors: last value, level (EWMA), last value + the seasonal profile's step; day bin, week bin,
// slow level (long-memory EWMA, with a long-memory spread).
const P_LAST = 0;
const P_LEVEL = 1;
const P_STEP = 2;
const P_DAY = 3;
const P_WEEK = 4;
const P_SLOW = 5;
const CHANNELS = 3; // local = mixture of last/level/step; seasonal = mixture of day/week; slow
const LEVEL_ALPHA = 0.1;
const SCALE_ALPHA = 0.02;
/** The slow level forgets in ≈ 256 readings, its spread in ≈ 1024: long enough that a level shift, a drift or a change of variance stays visible against it for hundreds of readings. */
const SLOW_ALPHA = 1 / 256;
const SLOW_SCALE_ALPHA = 1 / 1024;
/** Seasonal memory: weight of the newest period (≈ a week of days, ≈ three weeks of weeks). */
const DAY_FORGET = 1 / 6;
const WEEK_FORGET = 1 / 3;
/** A seasonal bin predicts once it has seen this many periods (so never from the current one only). */
const BIN_READY = 1.5;
/** Windows of history a sum must have before it is judged. */
const TRUST_WINDOWS = 4;
/** A run of unchanged values this long (and twice the sensor's longest lately) freezes learning. */
const FROZEN_RUN = 8;
/** The remembered longest run halves every 8192 readings. */
const RUN_DECAY = Math.pow(2, -1 / 8192);
/** Signed residuals enter the slow sums clipped (in scales), so one spike cannot make a shift. */
const SIGN_CLIP = 4;

/** The scalar fields of {@link AnomalyState}, in checkpoint order (a new field goes here too, with a new snapshot version). */
export const ANOMALY_FIELDS = ['n', 'lastTs', 'lastV', 'lnInterval', 'quantum', 'level', 'run', 'longestRun', 'ringAt', 'active', 'quiet', 'score', 'tail', 'why'] as const;

/** Per-sensor state: a few numbers and typed arrays; `stateBytes` gives its size. */
export class AnomalyState {
  n = 0;
  lastTs = NaN;
  lastV = NaN;
  /** ln of the typical sample interval (EWMA of ln Δt, steps clipped to ±1). */
  lnInterval = NaN;
  /** Smallest non-zero change seen: the sensor's resolution. */
  quantum = Infinity;
  level = NaN;
  /** Readings in a row without a change (beyond the resolution), and the longest such run lately. */
  run = 0;
  longestRun = 1;
  ringAt = 0;
  active = false;
  quiet = 0;
  score = 0;
  tail = 1;
  /** Which test gave the smallest tail (for `describe`). */
  why = -1;
  /** Mixture weights, scales of the three local predictors, surprises, calibrators, per channel a ring of capped surprises, the running sums. */
  readonly f64: Float64Array;
  /** Day bins, then week bins (float32 is plenty for a profile, and halves the biggest part). */
  readonly f32: Float32Array;
  constructor(tests: number) {
    this.f64 = new Float64Array(CAL + tests * CAL_SLOTS + CHANNELS * RING + tests);
    this.f64.fill(1, 0, PREDICTORS);
    this.f32 = new Float32Array((DAY_BINS + WEEK_BINS) * BIN);
  }
}

/** Scales of last, level, step, then the slow level and its scale. */
const SCALE = PREDICTORS;
const SLOW = SCALE + 3;
const U = SLOW + 2;
const CAL = U + CHANNELS;
const DAY_AT = 0;
const WEEK_AT = DAY_BINS * BIN;

/** What test `why` (see `AnomalyState.why`) looked at, in words for an alert. */
export function explain(o: AnomalyModelOptions, why: number): string {
  const k = o.sums.length;
  if (why < 0) return 'unusual';
  if (why < 2 * k) {
    const w = o.sums[why % k]!;
    const where = why < k ? 'against its recent values' : 'against its daily and weekly pattern';
    return w === 1 ? `a single reading ${where}` : `the last ${w} readings ${where}`;
  }
  return `the last ${o.slowSums[why - 2 * k]} readings away from where it has lived`;
}

/** Bytes of one sensor's state (typed array contents plus the object's fields). */
export function stateBytes(s: AnomalyState): number {
  return s.f64.byteLength + s.f32.byteLength + ANOMALY_FIELDS.length * 8;
}

// A sensor's typical interval settles (a regular sensor's ln Δt is its first one, exactly), and
// a fleet's sensors often share it: one entry each spares an exp and a log per reading.
let lnAt = NaN;
let expOfLn = NaN;
function intervalOf(ln: number): number {
  if (ln !== lnAt) (expOfLn = Math.exp(ln)), (lnAt = ln);
  return expOfLn;
}
let dtAt = NaN;
let lnOfDt = NaN;
function lnOf(dt: number): number {
  if (dt !== dtAt) (lnOfDt = Math.log(dt)), (dtAt = dt);
  return lnOfDt;
}

export function testsOf(o: AnomalyModelOptions): number {
  return 2 * o.sums.length + o.slowSums.length;
}

export function initState(o: AnomalyModelOptions): AnomalyState {
  const s = new AnomalyState(testsOf(o));
  const ks = [...o.sums, ...o.sums, ...o.slowSums];
  // Under a calibrated model a sum of k surprises is Gamma(k, 1), and a signed sum / √k about |N(0, 1)|.
  ks.forEach((k, j) => initCalibrator(s.f64, CAL + j * CAL_SLOTS, j < 2 * o.sums.length ? Math.log(1 + k) : Math.log(1.8), 0.25, 1));
  return s;
}

/** Learns one reading and returns its score in [0, 1] (also left in `s.score`, `s.active`). */
export function updateState(s: AnomalyState, o: AnomalyModelOptions, ts: number, v: number): number {
  const f = s.f64;
  const b32 = s.f32;
  const first = s.n === 0;
  const dt = first ? 0 : ts - s.lastTs;
  if (!first) {
    const d = Math.abs(v - s.lastV);
    if (d > 1e-12 * Math.max(1, Math.abs(v)) && d < s.quantum) s.quantum = d;
  }
  const half = s.quantum < Infinity ? s.quantum / 2 : 0;
  // A value that stopped changing for far longer than this sensor ever holds still (the flatline
  // detector's business) must not teach the model that the sensor has no noise: while such a run
  // lasts, the predictors' spreads stay as they were (else the noise coming back would look like
  // an anomaly, and teach the calibration that huge surprises are ordinary).
  s.longestRun = Math.max(1, s.longestRun * RUN_DECAY);
  const freezeAt = Math.max(FROZEN_RUN, 2 * s.longestRun);
  if (!first && v === s.lastV) s.run++;
  else {
    // A run that froze was itself unusual: it teaches at most twice the limit, so a sensor that
    // holds still more and more often learns it within a few runs, but one stuck episode does not
    // make the next one look ordinary.
    if (s.run > s.longestRun) s.longestRun = Math.min(s.run, 2 * freezeAt);
    s.run = 0;
  }
  const frozen = s.run > freezeAt;
  // Spread floor: half the resolution, and float32 precision (the profile bins are float32).
  const floor = Math.max(half, 2e-7 * Math.abs(v), 1e-12);
  const db = DAY_AT + binOf(DAY_BINS, DAY, ts) * BIN;
  const wb = WEEK_AT + binOf(WEEK_BINS, WEEK, ts) * BIN;
  let tail = 1;
  let why = -1;
  if (first) {
    s.level = v;
    f[SLOW] = v;
  } else {
    // After a gap the local predictors spread like a random walk: √(gap / usual interval).
    const usual = Number.isNaN(s.lnInterval) ? dt : intervalOf(s.lnInterval);
    const g = dt > usual && usual > 0 ? Math.sqrt(Math.min(dt / usual, 1e4)) : 1;
    const pdb = DAY_AT + binOf(DAY_BINS, DAY, s.lastTs) * BIN;
    const pwb = WEEK_AT + binOf(WEEK_BINS, WEEK, s.lastTs) * BIN;
    const dayReady = b32[db + 2]! >= BIN_READY;
    const weekReady = b32[wb + 2]! >= BIN_READY;
    const dayStep = dayReady && b32[pdb + 2]! >= BIN_READY;
    const weekStep = weekReady && b32[pwb + 2]! >= BIN_READY;
    const local = f[SCALE + P_LEVEL]!;
    locs[P_LAST] = s.lastV;
    scales[P_LAST] = f[SCALE + P_LAST]! * g;
    locs[P_LEVEL] = s.level;
    scales[P_LEVEL] = local * g;
    ready[P_LAST] = ready[P_LEVEL] = s.n >= 2 ? 1 : 0;
    // The last value plus the step the seasonal profile expects between the two phases, weighted
    // as the seasonal channel weighs day and week.
    const wd = f[W + P_DAY]!;
    const ww = f[W + P_WEEK]!;
    const dStep = b32[db]! - b32[pdb]!;
    const wStep = b32[wb]! - b32[pwb]!;
    const step = dayStep && weekStep ? (wd * dStep + ww * wStep) / (wd + ww) : dayStep ? dStep : weekStep ? wStep : 0;
    ready[P_STEP] = s.n >= 2 && (dayStep || weekStep) ? 1 : 0;
    locs[P_STEP] = s.lastV + step;
    scales[P_STEP] = f[SCALE + P_STEP]! * g;
    ready[P_DAY] = dayReady ? 1 : 0;
    locs[P_DAY] = b32[db]!;
    scales[P_DAY] = binScale(b32, db, local);
    ready[P_WEEK] = weekReady ? 1 : 0;
    locs[P_WEEK] = b32[wb]!;
    scales[P_WEEK] = binScale(b32, wb, local);
    ready[P_SLOW] = s.n >= 2 ? 1 : 0;
    locs[P_SLOW] = f[SLOW]!;
    scales[P_SLOW] = f[SLOW + 1]! * g;

    f[U] = surprise(f, P_LAST, P_STEP + 1, v, floor, half, o.share);
    f[U + 1] = surprise(f, P_DAY, P_WEEK + 1, v, floor, half, o.share);
    // The slow channel: a signed residual against the slow level, clipped so one spike cannot
    // make a shift.
    const r = (v - f[SLOW]!) / Math.max(scales[P_SLOW]!, floor);
    f[U + 2] = r > SIGN_CLIP ? SIGN_CLIP : r < -SIGN_CLIP ? -SIGN_CLIP : r;

    // Learn the local scales (the step predictor only where it predicted).
    const a = frozen ? 0 : Math.max(SCALE_ALPHA, 1 / s.n);
    for (let m = P_LAST; m <= P_STEP; m++) {
      if (!ready[m]) {
        if (m === P_STEP) f[SCALE + P_STEP] = f[SCALE + P_LAST]!;
        continue;
      }
      const r = Math.abs(v - locs[m]!) / g;
      const sc = f[SCALE + m]!;
      f[SCALE + m] = s.n === 1 ? r : sc + a * (Math.min(r, CLIP * Math.max(sc, floor)) - sc);
    }
    if (dt > 0) {
      const l = lnOf(dt);
      s.lnInterval = Number.isNaN(s.lnInterval) ? l : s.lnInterval + 0.05 * (Math.min(s.lnInterval + 1, Math.max(s.lnInterval - 1, l)) - s.lnInterval);
    }
    s.level += LEVEL_ALPHA * (v - s.level);
    // The slow level and spread learn fast only during the warm-up, then at their own slow pace,
    // so a drift cannot teach them that it is where the sensor lives.
    const young = s.n <= o.warmup;
    const sa = frozen ? 0 : young ? 1 / s.n : SLOW_SCALE_ALPHA;
    const sr = Math.abs(v - f[SLOW]!) / g;
    f[SLOW + 1] = s.n === 1 ? sr : f[SLOW + 1]! + sa * (Math.min(sr, CLIP * Math.max(f[SLOW + 1]!, floor)) - f[SLOW + 1]!);
    f[SLOW] = f[SLOW]! + (young ? 1 / (s.n + 1) : SLOW_ALPHA) * (v - f[SLOW]!);

    // Sums of the last k surprises, each calibrated on its own history. A surprise that is
    // already unusual on its own enters the longer sums capped, so one spike is one anomaly. The
    // slow channel sums its signed residuals instead: a shift or a drift away from where the sensor
    // has lived adds up, noise cancels (|Σ r| / √k). The sums run incrementally (add the new, drop
    // the one k back) and are recomputed exactly once per turn of the ring, so rounding cannot
    // build up.
    const nt = testsOf(o);
    const ringAt = CAL + nt * CAL_SLOTS;
    const sumsAt = ringAt + CHANNELS * RING;
    let best = 1;
    let tests = 0;
    const at = s.ringAt;
    const fresh = at === 0;
    let t0 = 0;
    for (let c = 0; c < CHANNELS; c++) {
      const slow = c === 2;
      const ks = slow ? o.slowSums : o.sums;
      const u = f[U + c]!;
      const c0 = CAL + t0 * CAL_SLOTS;
      const first = t0;
      t0 += ks.length;
      if (Number.isNaN(u)) continue;
      const ring = ringAt + c * RING;
      // ln(1 + u), for the cap and for the single surprise's calibration (the slow channel's
      // tests are of its sums only).
      const lu = slow ? NaN : Math.log1p(u);
      let entry = u;
      if (!slow && s.n > 2) {
        // The cap is e^h − 1: u is below it when ln(1 + u) is below h, and far enough below
        // (1e-9, against rounding of ~1e-16 relative) that needs no exp.
        const h = highLevel(f, c0, o.capSd);
        if (!(lu < h - 1e-9)) {
          const cap = Math.exp(h) - 1;
          if (!(u < cap)) entry = cap;
        }
      }
      for (let j = 0; j < ks.length; j++) {
        const k = ks[j]!;
        const si = sumsAt + first + j;
        if (k > 1) {
          if (fresh) {
            let sum = entry;
            for (let i = 1; i < k; i++) sum += f[ring + ((at - i + RING) & RING_MASK)]!;
            f[si] = sum;
          } else f[si] = f[si]! + entry - f[ring + ((at - k + RING) & RING_MASK)]!;
        }
        if (k > s.n) continue;
        const x = k === 1 ? u : slow ? Math.abs(f[si]!) / Math.sqrt(k) : f[si]!;
        // A sum over k readings is judged once its history holds a few windows of k (its
        // values overlap, so fewer would be too few to know its tail).
        const judged = s.n > o.warmup + TRUST_WINDOWS * k;
        const t = k === 1 && !slow ? calibrateLn(f, c0 + j * CAL_SLOTS, x, lu, o.calibration, judged) : calibrate(f, c0 + j * CAL_SLOTS, x, o.calibration, judged);
        if (judged) {
          tests++;
          if (t < best) (best = t), (why = first + j);
        }
      }
      f[ring + at] = entry;
    }
    s.ringAt = (at + 1) % RING;
    tail = Math.min(1, best * Math.max(1, tests));
  }
  // A reading counts for the part of its bin it covers, so a bin learns one period at a time
  // whatever the sample rate.
  // whatever the sample rate (the very first reading covers nothing yet).
  learnBin(b32, db, v, dt > 0 ? Math.min(1, dt / (DAY / DAY_BINS)) : 0, DAY_FORGET, f[SCALE + P_LEVEL]!);
  learnBin(b32, wb, v, dt > 0 ? Math.min(1, dt / (WEEK / WEEK_BINS)) : 0, WEEK_FORGET, f[SCALE + P_LEVEL]!);
  s.lastTs = ts;
  s.lastV = v;
  s.n++;
  s.tail = s.n > o.warmup ? tail : 1;
  s.why = s.n > o.warmup ? why : -1;
  return episode(s, o);
}

/** Posterior from the tail and the prior; episodes with hysteresis and a discount while open. */
/**
 * The prior: rarer than one episode per `rarityReadings` readings and per `rarityMs` of event
 * time, whichever is rarer (slow sensors: per reading; fast ones: an alert budget in time).
 */
function priorOf(s: AnomalyState, o: AnomalyModelOptions): number {
  const interval = Number.isNaN(s.lnInterval) ? 0 : intervalOf(s.lnInterval);
  return Math.max(1e-12, Math.min(1 / o.rarityReadings, interval / o.rarityMs));
}

function episode(s: AnomalyState, o: AnomalyModelOptions): number {
  const prior = priorOf(s, o);
  const odds = ((1 - prior) / prior) * s.tail;
  const raw = 1 / (1 + odds);
  if (s.active) {
    s.quiet = raw < o.closeScore ? s.quiet + 1 : 0;
    if (s.quiet >= o.quietReadings) s.active = false;
    s.score = 1 / (1 + odds * o.episodeDiscount);
  } else {
    s.score = raw;
    if (raw >= o.openScore) (s.active = true), (s.quiet = 0);
  }
  return s.score;
}
