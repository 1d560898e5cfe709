/**
 * Which storage tier answers a `/series` query: raw readings for short ranges, rollups for long
 * ones, by bucket size. A tier serves a query when its windows fit in a bucket (so a bucket is the
 * union of whole windows: min of mins and max of maxes stay exact) and its retention still holds
 * the range's start; otherwise the next coarser tier does, its window then being the bucket.
 */
import type { RollupTier, Tiers } from '../influx/tiers.js';
import { bucketing, type Bucketing } from './query-text.js';

export interface TierChoice extends Bucketing {
  /** The rollup tier, or undefined for the raw readings. */
  tier: RollupTier | undefined;
  /** `raw` or the tier's name: the API says which tier answered. */
  name: string;
  /** Start of the first bucket: `from`, or `from` rounded down to the tier's window grid. */
  from: number;
}

export function chooseTier(tiers: Tiers, from: number, to: number, points: number, now: number): TierChoice {
  const wanted = bucketing(from, to, points).bucketMs;
  const holds = (retentionMs: number): boolean => retentionMs === Infinity || from >= now - retentionMs;
  let pick: RollupTier | undefined;
  for (const t of tiers.rollups) {
    // Finer tiers first: the coarsest one whose window fits the bucket; and past a tier whose
    // retention does not reach back to `from`, the next coarser one.
    if (t.everyMs <= wanted || !holds(pick?.retentionMs ?? tiers.raw.retentionMs)) pick = t;
    else break;
  }
  if (!pick) return { tier: undefined, name: 'raw', from, ...bucketing(from, to, points) };
  const every = pick.everyMs;
  const start = Math.floor(from / every) * every;
  const bucketMs = Math.max(every, Math.ceil(wanted / every) * every);
  return { tier: pick, name: pick.name, from: start, bucketMs, offsetMs: start % bucketMs };
}
