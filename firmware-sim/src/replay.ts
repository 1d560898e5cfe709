import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { ReplayError } from './errors.js';

/** One row of a replay file: event time (epoch ms) and the value text as written in the file. */
export interface ReplayRow {
  ts: number;
  value: number;
  text: string;
}

/** NAB writes `2014-04-01 00:00:00` without a zone; it is read as UTC. Epoch ms is accepted too. */
function parseTimestamp(s: string): number {
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s);
  return Date.parse(s.includes('T') || s.endsWith('Z') ? s : `${s.replace(' ', 'T')}Z`);
}

const cache = new Map<string, ReplayRow[]>();

/** Reads a `timestamp,value` CSV (the format of the NAB corpus); rows must be in time order. */
export function readReplayCsv(file: string, baseDir: string = process.cwd()): ReplayRow[] {
  const path = isAbsolute(file) ? file : resolve(baseDir, file);
  const cached = cache.get(path);
  if (cached) return cached;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ReplayError(`${path}: cannot read replay file (${(err as Error).message})`, { cause: err });
  }
  const rows: ReplayRow[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((line, i) => {
    if (line.trim() === '' || (i === 0 && /^timestamp\s*,/i.test(line))) return;
    const [tsText, valueText, extra] = line.split(',');
    const ts = parseTimestamp((tsText ?? '').trim());
    const value = Number((valueText ?? '').trim());
    if (extra !== undefined || !Number.isFinite(ts) || valueText === undefined || valueText.trim() === '' || !Number.isFinite(value)) {
      throw new ReplayError(`${path}:${i + 1}: expected "timestamp,value", got ${JSON.stringify(line.slice(0, 80))}`);
    }
    const prev = rows[rows.length - 1];
    if (prev && ts < prev.ts) throw new ReplayError(`${path}:${i + 1}: timestamp goes back in time`);
    rows.push({ ts, value, text: valueText.trim() });
  });
  if (rows.length === 0) throw new ReplayError(`${path}: no rows`);
  cache.set(path, rows);
  return rows;
}
