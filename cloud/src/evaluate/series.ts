import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { EXIT } from '@fieldline/runtime';

/** One labelled series of `fieldline-cloud evaluate`: a `timestamp,value` CSV, one sensor. */
export interface Series {
  /** `<group>/<name>.csv`, relative to the data directory, always with `/`. */
  path: string;
  /** Timestamp and value texts as in the file (echoed verbatim into the results). */
  tsText: string[];
  valueText: string[];
  ts: Float64Array;
  values: Float64Array;
  /** Labelled anomaly windows [start, end] (epoch ms, inclusive). */
  windows: [number, number][];
}

/** A problem with an input file; the message names the file and line (exit 65, EX_DATAERR). */
export class EvaluateInputError extends Error {
  override readonly name = 'EvaluateInputError';
  readonly exitCode = EXIT.dataErr;
}

/** NAB writes `2014-04-01 00:00:00` (and labels `… 00:00:00.000000`) without a zone: read as UTC. */
export function parseTime(s: string): number {
  const t = s.trim();
  if (/^\d+(\.\d+)?$/.test(t)) return Number(t);
  return Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(t) ? t.replace(' ', 'T') : `${t.replace(' ', 'T')}Z`);
}

/** Every `*.csv` below `dir`, sorted, as `/`-separated paths relative to it. */
export function findCsvFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && e.name.endsWith('.csv')) out.push(relative(dir, p).split(sep).join('/'));
    }
  };
  walk(dir);
  return out;
}

/** Labels in NAB's `combined_windows.json` form: `{ "<group>/<name>.csv": [[start, end], …] }`. */
export function readLabels(file: string): Map<string, [number, number][]> {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new EvaluateInputError(`${file}: cannot read labels (${(err as Error).message})`, { cause: err });
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new EvaluateInputError(`${file}: expected an object of "<group>/<name>.csv": [[start, end], …]`);
  const out = new Map<string, [number, number][]>();
  for (const [path, wins] of Object.entries(raw)) {
    if (!Array.isArray(wins)) throw new EvaluateInputError(`${file}: "${path}": expected a list of [start, end]`);
    out.set(
      path,
      wins.map((w, i) => {
        const [a, b] = Array.isArray(w) ? w : [];
        const start = typeof a === 'string' || typeof a === 'number' ? parseTime(String(a)) : NaN;
        const end = typeof b === 'string' || typeof b === 'number' ? parseTime(String(b)) : NaN;
        if (!Number.isFinite(start) || !Number.isFinite(end) || end < start) throw new EvaluateInputError(`${file}: "${path}"[${i}]: expected [start, end] times, start <= end`);
        return [start, end] as [number, number];
      }),
    );
  }
  return out;
}

/**
 * Reads `<dir>/<path>`: a header line, then `timestamp,value` rows. Rows are taken in file order;
 * a timestamp that goes back is kept (the pipeline judges it as it would live: late if it is
 * further back than the allowed lateness).
 */
export function readSeries(dir: string, path: string, windows: [number, number][]): Series {
  const file = join(dir, path);
  const lines = readFileSync(file, 'utf8').split(/\r?\n/);
  const tsText: string[] = [];
  const valueText: string[] = [];
  const ts: number[] = [];
  const values: number[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === '' || (i === 0 && /^\s*timestamp\s*,/i.test(line))) return;
    const comma = line.indexOf(',');
    const t = comma < 0 ? NaN : parseTime(line.slice(0, comma));
    const vText = comma < 0 ? '' : line.slice(comma + 1).trim();
    const v = vText === '' || vText.includes(',') ? NaN : Number(vText);
    if (!Number.isFinite(t) || !Number.isFinite(v)) throw new EvaluateInputError(`${file}:${i + 1}: expected "timestamp,value", got ${JSON.stringify(line.slice(0, 80))}`);
    tsText.push(line.slice(0, comma).trim());
    valueText.push(vText);
    ts.push(t);
    values.push(v);
  });
  if (ts.length === 0) throw new EvaluateInputError(`${file}: no rows`);
  return { path, tsText, valueText, ts: Float64Array.from(ts), values: Float64Array.from(values), windows };
}
