/**
 * fieldline's points (docs/influxdb-schema.md) as line protocol: the pipeline hands typed values
 * to {@link Points} (`reading`, `late`, `session`, `alert`) and never sees a line. The encoding
 * is built for the hot path: a series' `measurement,tags field=` prefix is built (and escaped)
 * once per sensor, a reading's value reuses its JSON text, scores and timestamps are cached.
 */
import { MEASUREMENTS, type AlertEvent, type Reading, type SessionSummary } from '@fieldline/contract';
import { encodeFieldValue, encodePoint, encodeStringField, escapeKey, msToNs } from './line-protocol.js';

/** A string field's quoted form, cached for values from a small set (bounded: at most `limit` kept). */
function quotedCache(path: string, limit: number): (text: string) => string {
  const cache = new Map<string, string>();
  return (text) => {
    let enc = cache.get(text);
    if (enc === undefined) {
      enc = encodeStringField(text, path);
      if (cache.size < limit) cache.set(text, enc);
    }
    return enc;
  };
}

// Units repeat across sensors; `closed_by` is one of three reasons: each is escaped once.
const unitField = quotedCache('unit', 1024);
const closedByField = quotedCache('fields.closed_by', 8);

/** Scores are stored to 1e-4: enough to rank and threshold, and shorter lines for InfluxDB to parse. */
export const roundScore = (score: number): number => Math.round(score * 1e4) / 1e4;

// Formatting a float is the dearest step of a line (~0.3 us); a score has only 10,001 stored
// values, so each `,score=…` is formatted once and reused.
const scoreFields: string[] = [];
function scoreField(score: number): string {
  const k = Math.round(score * 1e4);
  if (!(k >= 0 && k <= 1e4)) return `,score=${roundScore(score)}`;
  return (scoreFields[k] ??= `,score=${k / 1e4}`);
}

// Readings of one message often share a timestamp (a device samples its sensors together).
let lastTs = NaN;
let lastNs = '';
function nsOf(ts: number): string {
  if (ts !== lastTs) {
    lastNs = msToNs(ts);
    lastTs = ts;
  }
  return lastNs;
}

// Rollup windows align to UTC (every tier divides a day), so a batch's windows of one tier share
// their start across sensors: one entry per tier.
const startTs: number[] = [];
const startNs: string[] = [];
function startNsOf(tier: number, ts: number): string {
  if (startTs[tier] !== ts) {
    startNs[tier] = msToNs(ts);
    startTs[tier] = ts;
  }
  return startNs[tier]!;
}

/** One sensor's series: the start of each of its lines, built once per sensor. */
export interface ReadingSeries {
  readonly device: string;
  readonly sensor: string;
  /** `readings,device=…,sensor=… value=` */
  readonly prefix: string;
  /** `device=…,sensor=…`, escaped (the tag part of every line of the sensor). */
  readonly tags: string;
}

export function readingSeries(device: string, sensor: string): ReadingSeries {
  const tags = flat(`device=${escapeKey(device, 'tags.device')},sensor=${escapeKey(sensor, 'tags.sensor')}`);
  return { device, sensor, prefix: flat(`${MEASUREMENTS.readings},${tags} value=`), tags };
}

/**
 * `text` as one sequential string: a concatenation is a tree of cons strings (five nodes, ~200
 * bytes, for a series' prefix and tags), and these live as long as their sensor. Reading a
 * character makes V8 copy the tree into one string; the next GC drops the emptied node. The
 * result is used, so no compiler may drop the read.
 */
function flat(text: string): string {
  return text.charCodeAt(0) >= 0 ? text : text;
}

/**
 * One `readings` point. Sparse fields keep lines short (InfluxDB 1.x's write cost grows with the
 * values per line): `quality` only when not `good`, `unit` only when `withUnit` (the caller sets
 * it from the message alone, so the same message always gives the same lines).
 */
export function readingText(prefix: string, r: Reading, score: number | undefined, withUnit: boolean, valueText?: string): string {
  // The value's own JSON text when known (processor/value-texts.ts); -0 is written as 0, as before.
  let line = prefix + (valueText !== undefined && r.value !== 0 ? valueText : encodeFieldValue(r.value));
  if (score !== undefined) line += scoreField(score);
  if (r.quality !== undefined && r.quality !== 'good') line += `,quality="${r.quality}"`;
  if (withUnit && r.unit !== undefined) line += `,unit=${unitField(r.unit)}`;
  return `${line} ${nsOf(r.ts)}`;
}

/** A `readings` point on its own (seeding, tests): unit included when known. */
export function readingLine(device: string, r: Reading, score: number | undefined, withUnit = true): string {
  return readingText(readingSeries(device, r.sensor).prefix, r, score, withUnit);
}

/** Side output of readings older than the allowed lateness (they are in `readings` too). */
function lateText(s: ReadingSeries, r: Reading, latenessMs: number): string {
  return `late_readings,${s.tags} value=${encodeFieldValue(r.value)},lateness_ms=${Math.round(latenessMs)}i ${msToNs(r.ts)}`;
}

/**
 * One `sessions` point: `sessions,device=…,sensor=… end=…i,count=…i,min=…,max=…,mean=…,stddev=…,anomalies=…i,closed_by="…"`
 * at the session's start. Written out rather than through `encodePoint` (a slow sensor closes a
 * session every `maxLengthMs`, and the generic encoder's sorting and BigInts cost ~4 µs a line);
 * the same bytes as `encodePoint` gives (line-protocol.test.ts). `tags`: the series' tag part.
 */
export function sessionLine(s: SessionSummary, tags = readingSeries(s.device, s.sensor).tags): string {
  const f = encodeFieldValue;
  return `${MEASUREMENTS.sessions},${tags} end=${intText(s.end)}i,count=${intText(s.count)}i,min=${f(s.min, 'fields.min')},max=${f(s.max, 'fields.max')},mean=${f(s.mean, 'fields.mean')},stddev=${f(s.stddev, 'fields.stddev')},anomalies=${intText(s.anomalies)}i,closed_by=${closedByField(s.closedBy)} ${msToNs(s.start)}`;
}

/** An integer field's digits, as `BigInt(Math.round(x))` prints them (exact beyond 2^53 too). */
function intText(x: number): string {
  const r = Math.round(x);
  return Number.isSafeInteger(r) ? String(r) : String(BigInt(r));
}

export function alertLine(a: AlertEvent): string {
  return encodePoint({
    measurement: MEASUREMENTS.alerts,
    tags: { device: a.device, sensor: a.sensor, rule: a.rule, severity: a.severity },
    fields: {
      id: a.id,
      state: a.state,
      start: BigInt(Math.round(a.start)),
      ...(a.end === undefined ? {} : { end: BigInt(Math.round(a.end)) }),
      value: a.value,
      score: a.score,
      message: a.message,
    },
    ts: a.ts,
  });
}

/** A rollup window's aggregate (the windows' `WindowAggregate` has this shape). */
export interface RollupValues {
  readonly count: number;
  readonly sum: number;
  readonly min: number;
  readonly max: number;
  readonly first: number;
  readonly last: number;
}

/**
 * One rollup point: `readings_1m,device=…,sensor=… mean=…,min=…,max=…,count=…i,first=…,last=…,sum=…`
 * at the window's start, so a window written again (late reading, redelivery, replay) is the same
 * point. `mean` is `sum / count`, as InfluxDB's mean() computes it. `tier` (0–7) picks the one-entry
 * cache of the start's text; any value is correct, since the text depends on the start alone.
 */
export function rollupText(measurement: string, tags: string, start: number, v: RollupValues, tier = -1): string {
  // Formatting a float is the dearest step of a line, and a window's six figures often coincide
  // (all six for a window of one reading, the common case for a sensor slower than the tier):
  // each distinct value is formatted once.
  const min = encodeFieldValue(v.min, 'min');
  // A window of one reading (every window of a sensor slower than the tier): one figure, six times.
  const ns = tier >= 0 && tier < 8 ? startNsOf(tier, start) : msToNs(start);
  if (v.count === 1) return `${measurement},${tags} mean=${min},min=${min},max=${min},count=1i,first=${min},last=${min},sum=${min} ${ns}`;
  const max = v.max === v.min ? min : encodeFieldValue(v.max, 'max');
  const first = v.first === v.min ? min : v.first === v.max ? max : encodeFieldValue(v.first, 'first');
  const last = v.last === v.first ? first : v.last === v.min ? min : v.last === v.max ? max : encodeFieldValue(v.last, 'last');
  const sum = v.count === 1 ? first : encodeFieldValue(v.sum, 'sum');
  const mean = v.count === 1 ? first : encodeFieldValue(v.sum / v.count, 'mean');
  return `${measurement},${tags} mean=${mean},min=${min},max=${max},count=${v.count}i,first=${first},last=${last},sum=${sum} ${ns}`;
}

/** A rollup window to recompute from the raw points (a reading came for a window already final). */
export interface RollupRepair {
  tier: number;
  device: string;
  sensor: string;
  start: number;
}

/**
 * The points one or more envelopes caused, as the lines the InfluxDB writer sends. `lines` may be
 * replaced by the caller (the processor joins a batch into one string while it waits). Rollup
 * lines go to their tier's retention policy or bucket, so they are kept apart, by tier index.
 */
export class Points {
  lines: string[] = [];
  /** Rollup lines by tier (`tiers.rollups` index). */
  tiers: string[][] = [];
  repairs: RollupRepair[] = [];
  private repairKeys: Set<string> | undefined;

  get count(): number {
    return this.lines.length;
  }

  /** Rollup lines (the sink writes them after the raw lines, then the repairs). */
  get rollupCount(): number {
    let n = 0;
    for (const t of this.tiers) if (t) n += t.length;
    return n;
  }

  rollup(tier: number, measurement: string, tags: string, start: number, v: RollupValues): void {
    (this.tiers[tier] ??= []).push(rollupText(measurement, tags, start, v, tier));
  }

  /** Once per window per batch, in the order asked. */
  repair(r: RollupRepair): void {
    const key = `${r.tier}:${r.device}:${r.sensor}:${r.start}`;
    this.repairKeys ??= new Set();
    if (this.repairKeys.has(key)) return;
    this.repairKeys.add(key);
    this.repairs.push(r);
  }

  /** A reading (with its anomaly score, if scored); `withUnit` adds its unit (sparse: see the schema doc). */
  reading(series: ReadingSeries, r: Reading, score: number | undefined, withUnit: boolean, valueText?: string): void {
    this.lines.push(readingText(series.prefix, r, score, withUnit, valueText));
  }

  /** A reading beyond the allowed lateness: in `readings` (unscored) and in `late_readings`. */
  late(series: ReadingSeries, r: Reading, latenessMs: number, withUnit: boolean, valueText?: string): void {
    this.lines.push(readingText(series.prefix, r, undefined, withUnit, valueText), lateText(series, r, latenessMs));
  }

  /**
   * A reading whose time cannot be right (the processor's clock check): in `readings` with
   * `quality` uncertain and `clock` saying why (`ahead`, `before_earliest`), unscored.
   */
  implausible(series: ReadingSeries, r: Reading, problem: string, withUnit: boolean, valueText?: string): void {
    const line = readingText(series.prefix, r.quality === 'uncertain' ? r : { ...r, quality: 'uncertain' }, undefined, withUnit, valueText);
    const at = line.lastIndexOf(' ');
    this.lines.push(`${line.slice(0, at)},clock=${encodeStringField(problem, 'clock')}${line.slice(at)}`);
  }

  /** `series`: the sensor's, for its tags (else they are escaped again). */
  session(s: SessionSummary, series?: ReadingSeries): void {
    this.lines.push(sessionLine(s, series?.tags));
  }

  alert(a: AlertEvent): void {
    this.lines.push(alertLine(a));
  }
}
