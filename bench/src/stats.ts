/** Latency percentiles (nearest rank) over what was measured; null when nothing was. */
export interface Percentiles {
  p50: number;
  p99: number;
  max: number;
  /** How many samples. */
  n: number;
}

export function percentiles(samples: readonly number[]): Percentiles | null {
  if (samples.length === 0) return null;
  const s = Float64Array.from(samples).sort();
  const at = (q: number): number => round(s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!, 2);
  return { p50: at(0.5), p99: at(0.99), max: round(s[s.length - 1]!, 2), n: s.length };
}

export const round = (v: number, digits = 0): number => {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
};

/** Per second over a window in ms; 0 for an empty window. */
export const perS = (count: number, ms: number): number => (ms > 0 ? (count * 1000) / ms : 0);
