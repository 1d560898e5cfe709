/**
 * Storage tiers: raw readings, and rollups (1 m and 1 h by default) of each sensor's readings,
 * each tier in its own measurement with its own retention (docs/influxdb-schema.md). The same
 * schema is in the processor's config (which writes the rollups and manages the retention) and
 * the query API's (which picks a tier per query), so both agree on names by default.
 */
import { MEASUREMENTS } from '@fieldline/contract';
import { z } from 'zod';
import { durationMs, formatDurationMs, retentionMs } from '../units/duration.js';
import type { InfluxConfig } from './config.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;

export const rollupTierSchema = z
  .object({
    /** Short name: measurement `readings_{name}`, v1 retention policy `rollup_{name}`, v2 bucket `{influx.bucket}_{name}`. */
    name: z.string().regex(/^[a-z0-9]{1,16}$/, 'must be 1-16 of [a-z0-9], e.g. "1m"'),
    /** Window size: each window `[start, start + every)` is one point, aligned to UTC. */
    every: durationMs,
    /** How long InfluxDB keeps the tier: a duration (at least 1h) or `inf`. */
    retention: retentionMs,
    /** @default `readings_{name}` */
    measurement: z.string().regex(/^[a-z0-9_]{1,64}$/).optional(),
    /** InfluxDB 1.x retention policy holding the measurement. @default `rollup_{name}` */
    retentionPolicy: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).optional(),
    /** InfluxDB 2.x/3.x bucket (database in 3.x) holding the measurement. @default `{influx.bucket}_{name}` */
    bucket: z.string().min(1).max(255).optional(),
  })
  .strict();

export const DEFAULT_ROLLUPS = [
  { name: '1m', every: '1m', retention: '365d' },
  { name: '1h', every: '1h', retention: 'inf' },
] as const;

export const tiersSchema = z
  .object({
    /** Raw readings (and sessions, alerts, late readings): written to `influx.retentionPolicy` (v1; the database's default when unset) or `influx.bucket`. */
    raw: z
      .object({
        /** @default '30d' */
        retention: retentionMs.default('30d'),
      })
      .strict()
      .default({}),
    /** Rollup tiers, finest first; `[]` turns rollups off. @default 1m kept 365d, 1h kept forever */
    rollups: z.array(rollupTierSchema).max(8).default(DEFAULT_ROLLUPS.map((t) => ({ ...t }))),
    /**
     * At start (processor): `apply` creates missing 1.x retention policies and sets their durations
     * to the config's; `check` only compares and fails on a difference; `off` trusts the server.
     * 2.x/3.x buckets are never created or changed: they are checked to exist (not with `off`).
     * @default 'apply'
     */
    manage: z.enum(['apply', 'check', 'off']).default('apply'),
  })
  .strict()
  .superRefine((t, ctx) => {
    const minRetention = (ms: number, path: (string | number)[]) => {
      // InfluxDB 1.x refuses retention policies shorter than an hour.
      if (ms < HOUR) ctx.addIssue({ code: 'custom', path, message: `must be at least 1h or "inf", got ${formatDurationMs(ms)}` });
    };
    minRetention(t.raw.retention, ['raw', 'retention']);
    const names = new Set<string>();
    t.rollups.forEach((r, i) => {
      if (names.has(r.name)) ctx.addIssue({ code: 'custom', path: ['rollups', i, 'name'], message: `tier "${r.name}" is defined twice` });
      names.add(r.name);
      if (!(r.every >= 1000 && DAY % r.every === 0)) ctx.addIssue({ code: 'custom', path: ['rollups', i, 'every'], message: `must be at least 1s and divide 24h (windows align to UTC days), got ${formatDurationMs(r.every)}` });
      const prev = t.rollups[i - 1];
      if (prev && !(r.every > prev.every && r.every % prev.every === 0)) ctx.addIssue({ code: 'custom', path: ['rollups', i, 'every'], message: `must be a larger multiple of the tier before (${prev.name}: ${formatDurationMs(prev.every)})` });
      minRetention(r.retention, ['rollups', i, 'retention']);
      if (r.retention < r.every) ctx.addIssue({ code: 'custom', path: ['rollups', i, 'retention'], message: 'must be at least the window size' });
    });
  });

export type TiersConfig = z.infer<typeof tiersSchema>;
export type TiersConfigInput = z.input<typeof tiersSchema>;

/** A write or query destination besides the default: a 1.x retention policy and a 2.x/3.x bucket (the connection's API picks one). */
export interface StorageTarget {
  retentionPolicy: string;
  bucket: string;
}

/** A rollup tier with every name resolved. */
export interface RollupTier extends StorageTarget {
  /** Index in `tiers.rollups` (rollup lines are grouped by it). */
  index: number;
  name: string;
  everyMs: number;
  retentionMs: number;
  measurement: string;
  /** The config path, for messages. */
  path: string;
}

export interface Tiers {
  raw: { retentionMs: number; retentionPolicy: string | undefined; bucket: string };
  rollups: RollupTier[];
  manage: TiersConfig['manage'];
}

export function resolveTiers(t: TiersConfig, influx: Pick<InfluxConfig, 'retentionPolicy' | 'bucket'>): Tiers {
  return {
    raw: { retentionMs: t.raw.retention, retentionPolicy: influx.retentionPolicy, bucket: influx.bucket },
    rollups: t.rollups.map((r, index) => ({
      index,
      name: r.name,
      everyMs: r.every,
      retentionMs: r.retention,
      measurement: r.measurement ?? `${MEASUREMENTS.readings}_${r.name}`,
      retentionPolicy: r.retentionPolicy ?? `rollup_${r.name}`,
      bucket: r.bucket ?? `${influx.bucket}_${r.name}`,
      path: `tiers.rollups[${index}]`,
    })),
    manage: t.manage,
  };
}
