/**
 * Which line driver fits a sample of lines from a port (pure, for `fieldline-edge probe`): each
 * driver parses the lines with its default options (csv: as many columns as the lines have), and
 * the one that parses most of them wins. The first line is skipped: listening started mid-frame.
 */
import { ID_PATTERN } from '@fieldline/contract';
import { getDriver, type Frame, type LineDriverSpec } from '../drivers/index.js';

export interface LineMatch {
  driver: string;
  options: Record<string, unknown>;
  /** Lines parsed / lines tried. */
  parsed: number;
  tried: number;
  /** Channel names in the order first seen, with the last value of each. */
  channels: Array<[name: string, last: number]>;
  /** The frames carry the board's own time. */
  boardTime: boolean;
}

// Most specific first: on a tie the stricter format wins (csv accepts any row of numbers).
const ORDER = ['nmea', 'jsonl', 'text-kv', 'csv'];
const EPOCH_MS = /^\d{12,14}$/;

function csvOptions(lines: string[]): Record<string, unknown> | undefined {
  const rows = lines.map((l) => l.split(','));
  const width = rows[0]?.length ?? 0;
  if (width === 0 || !rows.every((r) => r.length === width)) return undefined;
  const timeColumn = width > 1 && rows.every((r) => EPOCH_MS.test(r[0]!.trim()));
  const n = width - (timeColumn ? 1 : 0);
  return { columns: Array.from({ length: n }, (_, i) => `col${i + 1}`), timeColumn };
}

/** Tries every line driver on `lines`; the best match first, or an empty list when none parses any. */
export function matchLineDrivers(lines: string[]): LineMatch[] {
  const sample = lines.length > 1 ? lines.slice(1) : lines;
  const matches: LineMatch[] = [];
  for (const id of ORDER) {
    const spec = getDriver(id) as LineDriverSpec | undefined;
    if (!spec || spec.kind !== 'line') continue;
    const raw = id === 'csv' ? csvOptions(sample) : {};
    if (!raw) continue;
    const opts = spec.options.safeParse(raw);
    if (!opts.success) continue;
    const parse = spec.create(opts.data);
    const channels = new Map<string, number>();
    let parsed = 0;
    let boardTime = false;
    for (const line of sample) {
      let frame: Frame;
      try {
        frame = parse(line);
      } catch {
        continue;
      }
      if (frame.values.length === 0) continue;
      parsed += 1;
      if (frame.boardTs !== undefined) boardTime = true;
      for (const [name, v] of frame.values) channels.set(name, v);
    }
    if (parsed > 0) matches.push({ driver: id, options: raw, parsed, tried: sample.length, channels: [...channels], boardTime });
  }
  // Stable sort keeps ORDER among equals.
  return matches.sort((a, b) => b.parsed - a.parsed);
}

/** A port or sensor id from free text: lower case, [a-z0-9_-], at most 63 characters. */
export function toId(text: string, fallback = 'port'): string {
  const id = text.toLowerCase().replace(/[^a-z0-9_-]+/g, '-').replace(/^[-_]+/, '').slice(0, 63).replace(/[-_]+$/, '');
  return ID_PATTERN.test(id) ? id : fallback;
}
