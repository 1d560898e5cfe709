/** Request parameters: JSON schemas for fastify's validation, and time parsing with clear errors. */
import { ID_PATTERN, SEVERITIES } from '@fieldline/contract';
import type { AlertRow } from './store.js';

/** A client error with the HTTP status and a message naming the bad parameter. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly statusCode: number,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export const idSchema = { type: 'string', pattern: ID_PATTERN.source, maxLength: 63 } as const;
/** ISO 8601, epoch ms, `now` or `now-<n><ms|s|m|h|d|w>`; parsed by {@link parseTime}. */
export const timeSchema = { type: 'string', minLength: 1, maxLength: 40, description: 'ISO 8601, epoch ms, `now` or `now-6h`' } as const;
export const severitySchema = { type: 'string', enum: [...SEVERITIES] } as const;

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const ISO = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;

/** Parses a time parameter to epoch ms; `name` goes into the error message. */
export function parseTime(value: string, name: string, now: number): number {
  let ms = Number.NaN;
  const rel = /^now(?:-(\d{1,9})(ms|s|m|h|d|w))?$/.exec(value);
  if (rel) ms = now - (rel[1] ? Number(rel[1]) * UNIT_MS[rel[2]!]! : 0);
  else if (/^\d{1,15}$/.test(value)) ms = Number(value);
  else if (ISO.test(value)) ms = Date.parse(value.replace(' ', 'T'));
  if (!Number.isFinite(ms) || ms < 0) {
    throw new ApiError(400, `${name}: expected an ISO 8601 time, epoch milliseconds, "now" or "now-<n><ms|s|m|h|d|w>", got ${JSON.stringify(value.slice(0, 40))}`);
  }
  return Math.floor(ms);
}

/** Resolves `from`/`to` (defaults: the last `defaultSpanMs`) and checks order and the range bound. */
export function parseRange(
  q: { from?: string; to?: string },
  maxRangeMs: number,
  defaultSpanMs: number,
  now = Date.now(),
): { from: number; to: number } {
  const to = q.to === undefined ? now : parseTime(q.to, 'to', now);
  const from = q.from === undefined ? to - defaultSpanMs : parseTime(q.from, 'from', now);
  if (from >= to) throw new ApiError(400, `from: must be before to (from=${new Date(from).toISOString()}, to=${new Date(to).toISOString()})`);
  if (to - from > maxRangeMs) {
    throw new ApiError(400, `to: the range from..to spans ${Math.ceil((to - from) / 86_400_000)} days; at most ${maxRangeMs / 86_400_000} are allowed`);
  }
  return { from, to };
}

export interface AlertView extends AlertRow {
  /** Time of the latest transition. */
  ts: number;
}

/**
 * Folds stored transitions (firing at `start`, resolved at `end`) into one entry per alert id with
 * its latest state, keeping alerts that overlap [from, to). Rows arrive in time order.
 */
export function foldAlerts(rows: AlertRow[], from: number, to: number): AlertView[] {
  const byId = new Map<string, AlertView>();
  for (const r of rows) {
    const prev = byId.get(r.id);
    // A resolved row is final; a redelivered firing row must not reopen it.
    if (prev?.state === 'resolved' && r.state === 'firing') continue;
    byId.set(r.id, { ...prev, ...r, start: prev?.start ?? r.start });
  }
  return [...byId.values()]
    .filter((a) => a.start < to && (a.state === 'firing' || (a.end ?? a.ts) >= from))
    .sort((a, b) => b.start - a.start);
}
