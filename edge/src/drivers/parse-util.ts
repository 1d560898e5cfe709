import { ID_PATTERN, MAX_TS_MS } from '@fieldline/contract';
import { FrameError } from '../errors.js';

// docs/serial-protocols.md: values are decimal numbers (`-12.5`, `1e3`); nothing else.
const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/** Parses a decimal value or throws `bad_value` naming the field. */
export function parseValue(text: string, what: string): number {
  const v = DECIMAL.test(text) ? Number(text) : NaN;
  if (!Number.isFinite(v)) throw new FrameError('bad_value', `${what}: ${show(text)} is not a decimal number`);
  return v;
}

/** A board time in epoch ms, or `bad_time`. */
export function parseBoardTs(value: unknown, what = 'ts'): number {
  const v = typeof value === 'string' ? (DECIMAL.test(value) ? Number(value) : NaN) : value;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > MAX_TS_MS) {
    throw new FrameError('bad_time', `${what}: ${show(String(value))} is not an epoch-ms time`);
  }
  return v;
}

export function checkChannel(name: string): string {
  if (!ID_PATTERN.test(name)) throw new FrameError('bad_channel', `channel ${show(name)} must match [a-z0-9][a-z0-9_-]{0,62}`);
  return name;
}

/** Quotes at most 40 characters of frame text for an error message. */
export function show(text: string): string {
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);
}
