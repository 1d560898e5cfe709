/**
 * Durations in config: a number of milliseconds, or a string with a unit (`500ms`, `10s`, `5m`,
 * `1h`, `30d`, `1w`). Shared by the InfluxDB tiers, the rollups and the window detector, which
 * may not import one another (test/import-rules.ts), hence its own folder. (firmware-sim has its
 * own parser, where a bare number means seconds: scenario files are not processor config.)
 */
import { z } from 'zod';

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;
const DURATION_RE = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)$/;

/** Milliseconds of `"5m"`, `"30d"`, … or a number of ms; null when malformed or not a whole, non-negative ms. */
export function parseDurationMs(input: string | number): number | null {
  const ms = typeof input === 'number' ? input : (() => {
    const m = DURATION_RE.exec(input.trim());
    return m ? Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS] : NaN;
  })();
  return Number.isSafeInteger(ms) && ms >= 0 ? ms : null;
}

/** `5m` for 300000: the largest unit that divides it (for messages, names and InfluxDB durations). */
export function formatDurationMs(ms: number): string {
  if (ms === Infinity) return 'inf';
  for (const [unit, size] of [['d', UNIT_MS.d], ['h', UNIT_MS.h], ['m', UNIT_MS.m], ['s', UNIT_MS.s]] as const) {
    if (ms > 0 && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

/** A config duration, parsed to ms: a number of ms or `"5m"`-style text. */
export const durationMs = z.union([z.number(), z.string()]).transform((v, ctx) => {
  const ms = parseDurationMs(v);
  if (ms === null) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: `expected milliseconds or a duration like "500ms", "10s", "5m", "1h", "30d", got ${JSON.stringify(v)}` });
    return z.NEVER;
  }
  return ms;
});

/** A retention: a duration, or `inf` (kept forever), parsed to ms (`Infinity` for forever). */
export const retentionMs = z.union([z.literal('inf'), z.number(), z.string()]).transform((v, ctx) => {
  if (v === 'inf' || v === Infinity) return Infinity;
  const ms = parseDurationMs(v);
  if (ms === null || ms === 0) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: `expected "inf" or a duration like "30d", "365d", got ${JSON.stringify(v)}` });
    return z.NEVER;
  }
  return ms;
});
