/**
 * Seeded randomness. Everything random in a simulation derives from the `--seed` through these,
 * so the same scenario and seed give the same samples and bytes (issue 3: determinism).
 */

/** murmur3 fmix32: a cheap, well-mixed 32-bit finaliser. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A 32-bit seed derived from a base seed and labels (FNV-1a over the labels, then mixed). */
export function deriveSeed(seed: number, ...labels: (string | number)[]): number {
  let h = fmix32((seed >>> 0) ^ 0x811c9dc5);
  for (const label of labels) {
    const s = String(label);
    for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
    h = fmix32(h ^ 0x2f);
  }
  return h >>> 0;
}

/**
 * Counter-based uniform in (0, 1): the n-th draw of stream `seed`, with no state. Random access
 * lets a board start at any tick and still produce the same values as the pure generator.
 */
export function uniformAt(seed: number, n: number): number {
  const h = fmix32((seed ^ Math.imul(n | 0, 0x9e3779b9) ^ Math.floor(n / 0x100000000)) >>> 0);
  return (h + 0.5) / 0x100000000;
}

/** Counter-based standard normal (Box–Muller over draws 2n and 2n+1). */
export function normalAt(seed: number, n: number): number {
  const u1 = uniformAt(seed, 2 * n);
  const u2 = uniformAt(seed, 2 * n + 1);
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

/** A sequential seeded generator (mulberry32) for code that draws in order. */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Integer in [0, n). */
  int(n: number): number;
  /** Standard normal. */
  normal(): number;
}

export function createRng(seed: number): Rng {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 0x100000000;
  };
  return {
    next,
    int: (n) => Math.floor(next() * n),
    normal: () => Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next()),
  };
}
