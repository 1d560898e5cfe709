/**
 * InfluxDB line protocol encoding (v1 `/write` and v2 `/api/v2/write` take the same text):
 * `measurement,tag=v field=1.5,s="x" <ns>`. Escaping follows the line protocol reference:
 * measurement `,` and space; tag keys/values and field keys `,` `=` and space; string field
 * values `"` and `\`. Newlines cannot be escaped anywhere, so they are rejected: one point is
 * always exactly one line.
 */
export type FieldValue = number | bigint | boolean | string;

export interface Point {
  measurement: string;
  tags: Readonly<Record<string, string>>;
  /** Numbers are floats, bigints are integers (`i` suffix). */
  fields: Readonly<Record<string, FieldValue>>;
  /** Event time, epoch ms (fractions kept down to 1 µs). */
  ts: number;
}

/** A point that cannot be expressed as one line of line protocol. */
export class LineProtocolError extends Error {
  override readonly name = 'LineProtocolError';
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
  }
}

const NEEDS_WORK = /[,= \\\n\r"]/;
const NEWLINE = /[\n\r]/;

function checkText(s: string, path: string): void {
  if (s.length === 0) throw new LineProtocolError(path, 'must not be empty');
  if (NEWLINE.test(s)) throw new LineProtocolError(path, 'must not contain a newline (line protocol cannot escape it)');
  // The 1.x parser treats `\` + any byte as a pair, so a backslash before an escaped character or
  // at the end would swallow the escape or the separator: ambiguous, so refused.
  if (/\\([,= ]|$)/.test(s)) {
    throw new LineProtocolError(path, 'must not contain a backslash before a comma, "=", space or at the end');
  }
}

/** Escapes a tag key, tag value or field key. */
export function escapeKey(s: string, path = 'key'): string {
  if (!NEEDS_WORK.test(s) && s.length > 0) return s;
  checkText(s, path);
  return s.replace(/[,= ]/g, '\\$&');
}

export function escapeMeasurement(s: string, path = 'measurement'): string {
  if (s.startsWith('#')) throw new LineProtocolError(path, 'must not start with "#" (a comment line)');
  if (!NEEDS_WORK.test(s) && s.length > 0) return s;
  checkText(s, path);
  return s.replace(/[, ]/g, '\\$&');
}

/** A string field value, quoted. */
export function encodeStringField(s: string, path = 'field'): string {
  if (NEWLINE.test(s)) throw new LineProtocolError(path, 'must not contain a newline (line protocol cannot escape it)');
  return `"${s.replace(/["\\]/g, '\\$&')}"`;
}

/**
 * `String(x)` for a finite number, fast for the values sensors send. V8 formats a fractional
 * double with its shortest-round-trip algorithm, ~250 ns (the dearest step of a line); most
 * readings have at most three decimals, and for those the text is built from integers in ~60 ns.
 * Exact: when `k / 1000 === x` for an integer `k`, no decimal with fewer digits rounds to `x`
 * (two decimals of ≤ 3 places differ by ≥ 0.001, far more than a double's spacing below 2^31 / 1000),
 * so the shortest text, which is what `String` gives (ECMA-262 Number::toString), is `k / 1000`'s
 * decimal with trailing zeros dropped. Tested against `String` (line-protocol.test.ts).
 */
export function formatFloat(x: number): string {
  const k = Math.round(x * 1000);
  if (k / 1000 !== x || k >= 2147483648 || k <= -2147483648) return String(x);
  if (k === 0) return '0'; // -0 too, as String(-0)
  const a = k < 0 ? -k : k;
  const i = Math.floor(a / 1000);
  const f = a - i * 1000;
  const int = k < 0 ? `-${i}` : `${i}`;
  if (f === 0) return int;
  if (f % 100 === 0) return `${int}.${f / 100}`;
  if (f % 10 === 0) return `${int}.${f < 100 ? '0' : ''}${f / 10}`;
  return `${int}.${f < 10 ? '00' : f < 100 ? '0' : ''}${f}`;
}

export function encodeFieldValue(v: FieldValue, path = 'field'): string {
  switch (typeof v) {
    case 'number':
      if (!Number.isFinite(v)) throw new LineProtocolError(path, `must be a finite number, got ${v}`);
      return formatFloat(v);
    case 'bigint':
      return `${v}i`;
    case 'boolean':
      return v ? 'true' : 'false';
    case 'string':
      return encodeStringField(v, path);
    default:
      throw new LineProtocolError(path, `unsupported field type ${typeof v}`);
  }
}

/** Epoch ms (with µs fractions) as integer nanoseconds, exact for the µs part. */
export function msToNs(ts: number): string {
  if (!Number.isFinite(ts) || ts < 0) throw new LineProtocolError('ts', `must be a non-negative epoch ms, got ${ts}`);
  const us = Math.round(ts * 1000);
  return us === 0 ? '0' : `${us}000`;
}

export function encodePoint(p: Point): string {
  let line = escapeMeasurement(p.measurement);
  for (const key of Object.keys(p.tags).sort()) {
    const value = p.tags[key]!;
    // An empty tag value is not allowed by line protocol; it means "no such tag".
    if (value === '') continue;
    line += `,${escapeKey(key, `tags.${key}`)}=${escapeKey(value, `tags.${key}`)}`;
  }
  let sep = ' ';
  for (const key of Object.keys(p.fields)) {
    const value = p.fields[key];
    if (value === undefined) continue;
    line += `${sep}${escapeKey(key, `fields.${key}`)}=${encodeFieldValue(value, `fields.${key}`)}`;
    sep = ',';
  }
  if (sep === ' ') throw new LineProtocolError('fields', 'a point needs at least one field');
  return `${line} ${msToNs(p.ts)}`;
}

/**
 * The value of tag `key` in a line this module wrote, unescaped; undefined when it has none. The
 * inverse of the tag encoding above (for a refused point's device, filed with its dead letter).
 */
export function readTag(line: string, key: string): string | undefined {
  // measurement[,tag=value…] fields ts: the tag set ends at the first unescaped space.
  let i = 0;
  const n = line.length;
  const readUntil = (stops: string): string => {
    let out = '';
    while (i < n) {
      const c = line[i]!;
      if (c === '\\' && i + 1 < n && ',= '.includes(line[i + 1]!)) {
        out += line[i + 1];
        i += 2;
        continue;
      }
      if (stops.includes(c)) break;
      out += c;
      i++;
    }
    return out;
  };
  readUntil(', ');
  while (i < n && line[i] === ',') {
    i++;
    const k = readUntil('=, ');
    if (line[i] !== '=') return undefined;
    i++;
    const v = readUntil(', ');
    if (k === key) return v;
  }
  return undefined;
}
