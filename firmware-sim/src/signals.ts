import type { Channel, SignalModel } from './scenario.js';

interface ModelDefaults {
  unit: string;
  level: number;
  dailyAmplitude: number;
  noise: number;
  quantum: number;
  min: number;
  max: number;
}

/** Plausible indoor/industrial values; every one can be overridden per channel. */
export const MODEL_DEFAULTS: Record<Exclude<SignalModel, 'replay'>, ModelDefaults> = {
  temperature: { unit: 'C', level: 21, dailyAmplitude: 3, noise: 0.05, quantum: 0.01, min: -40, max: 85 },
  humidity: { unit: '%', level: 55, dailyAmplitude: -10, noise: 0.3, quantum: 0.1, min: 0, max: 100 },
  pressure: { unit: 'hPa', level: 1013.25, dailyAmplitude: 0.8, noise: 0.05, quantum: 0.01, min: 300, max: 1100 },
  vibration: { unit: 'mm/s', level: 2.5, dailyAmplitude: 0.3, noise: 0.15, quantum: 0.01, min: 0, max: 100 },
  co2: { unit: 'ppm', level: 450, dailyAmplitude: 120, noise: 8, quantum: 1, min: 0, max: 10_000 },
  power: { unit: 'W', level: 1200, dailyAmplitude: 400, noise: 25, quantum: 1, min: 0, max: 1_000_000 },
};

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** A channel's model with every default resolved. */
export interface SignalParams extends ModelDefaults {
  drift: number;
  dailyPeakHour: number;
  decimals: number;
}

function decimalsOf(quantum: number): number {
  const m = /\.(\d+)$/.exec(quantum.toFixed(10).replace(/0+$/, ''));
  return m ? m[1]!.length : 0;
}

export function signalParams(ch: Channel): SignalParams {
  const d = ch.model === 'replay' ? { unit: '', level: 0, dailyAmplitude: 0, noise: 0, quantum: 1e-9, min: -Infinity, max: Infinity } : MODEL_DEFAULTS[ch.model];
  const quantum = ch.quantum ?? d.quantum;
  return {
    unit: ch.unit ?? d.unit,
    level: ch.level ?? d.level,
    dailyAmplitude: ch.dailyAmplitude ?? d.dailyAmplitude,
    noise: ch.noise ?? d.noise,
    quantum,
    min: ch.min ?? d.min,
    max: ch.max ?? d.max,
    drift: ch.drift,
    dailyPeakHour: ch.dailyPeakHour,
    decimals: decimalsOf(quantum),
  };
}

/** Noise-free value at event time `ts`: level + drift since `startMs` + daily cosine peaking at `dailyPeakHour` UTC. */
export function cleanValue(p: SignalParams, ts: number, startMs: number): number {
  const dayPhase = (((ts - p.dailyPeakHour * HOUR_MS) % DAY_MS) + DAY_MS) % DAY_MS / DAY_MS;
  return p.level + (p.drift * (ts - startMs)) / HOUR_MS + p.dailyAmplitude * Math.cos(2 * Math.PI * dayPhase);
}

/** Clips to the physical range and rounds to the quantum; the result prints exactly with `decimals`. */
export function quantise(p: SignalParams, v: number): number {
  const clipped = Math.min(p.max, Math.max(p.min, v));
  return Number((Math.round(clipped / p.quantum) * p.quantum).toFixed(p.decimals));
}
