/**
 * A strict line protocol parser for the in-test v2 server, written from the line protocol
 * reference (not from our encoder), so encoding mistakes show up as parse errors or wrong points.
 */
export type ParsedValue = number | bigint | boolean | string;

export interface ParsedPoint {
  measurement: string;
  tags: Record<string, string>;
  fields: Record<string, ParsedValue>;
  /** Timestamp in the request's precision, as text (exact). */
  ts: string;
}

export class LineParseError extends Error {}

export function parseLine(line: string): ParsedPoint {
  let i = 0;
  const read = (stops: string, escapable: string): string => {
    let out = '';
    while (i < line.length) {
      const c = line[i]!;
      if (c === '\\' && i + 1 < line.length && escapable.includes(line[i + 1]!)) {
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
  if (/[\n\r]/.test(line)) throw new LineParseError('newline inside a line');
  const measurement = read(', ', ', ');
  if (!measurement) throw new LineParseError('missing measurement');
  const tags: Record<string, string> = {};
  while (line[i] === ',') {
    i++;
    const k = read('=', ',= ');
    if (line[i] !== '=') throw new LineParseError(`tag ${k}: missing "="`);
    i++;
    const v = read(', ', ',= ');
    if (!k || !v) throw new LineParseError('empty tag key or value');
    tags[k] = v;
  }
  if (line[i] !== ' ') throw new LineParseError('missing fields');
  i++;
  const fields: Record<string, ParsedValue> = {};
  for (;;) {
    const k = read('=', ',= ');
    if (line[i] !== '=' || !k) throw new LineParseError(`field ${k}: missing "="`);
    i++;
    if (line[i] === '"') {
      i++;
      let s = '';
      for (;;) {
        if (i >= line.length) throw new LineParseError(`field ${k}: unterminated string`);
        const c = line[i]!;
        if (c === '\\' && (line[i + 1] === '"' || line[i + 1] === '\\')) {
          s += line[i + 1];
          i += 2;
        } else if (c === '"') {
          i++;
          break;
        } else {
          s += c;
          i++;
        }
      }
      fields[k] = s;
    } else {
      const raw = read(', ', '');
      if (/^-?\d+i$/.test(raw)) fields[k] = BigInt(raw.slice(0, -1));
      else if (/^(t|T|true|True|TRUE)$/.test(raw)) fields[k] = true;
      else if (/^(f|F|false|False|FALSE)$/.test(raw)) fields[k] = false;
      else if (/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(raw)) fields[k] = Number(raw);
      else throw new LineParseError(`field ${k}: invalid value ${JSON.stringify(raw)}`);
    }
    if (line[i] === ',') {
      i++;
      continue;
    }
    break;
  }
  let ts = '';
  if (line[i] === ' ') {
    i++;
    ts = line.slice(i);
    if (!/^-?\d+$/.test(ts)) throw new LineParseError(`invalid timestamp ${JSON.stringify(ts)}`);
    i = line.length;
  }
  if (i !== line.length) throw new LineParseError(`unexpected text at column ${i}`);
  return { measurement, tags, fields, ts };
}
