// npm run bench:contract -- the schema-compiled envelope parser against the hand-written check it
// replaced (bench/hand-written.ts, the code of commit 850cd3a), on the payloads of the hot paths:
// the gateway's single-reading envelopes and the processor's 100-reading batches, plus a refusal.
// Pure CPU, one core; each figure is the median of several timed rounds after a warm-up.
import { cpus, loadavg } from 'node:os';
import { encodeEnvelope, parseEnvelope, type Envelope } from '../src/index.js';
import { handWrittenParseEnvelope } from './hand-written.js';

const T0 = Date.UTC(2026, 0, 5);
const ROUNDS = Number(process.env.FL_BENCH_ROUNDS ?? 7);

function envelope(readings: number): Envelope {
  const env: Envelope = { v: 1, device: 'bench-device-01', epoch: 'k3j2h4g5benchep', seq: 4711, clock: { synced: true, now: T0 }, readings: [] };
  for (let i = 0; i < readings; i++) env.readings.push({ sensor: `s${i % 5}`, ts: T0 + i * 100, value: 20 + Math.sin(i) * 3.25, unit: 'C' });
  return env;
}

interface Case {
  name: string;
  payload: Buffer;
  /** Parses per round. */
  n: number;
  valid: boolean;
}

const cases: Case[] = [
  { name: '1 reading (gateway, single)', payload: Buffer.from(encodeEnvelope(envelope(1))), n: 200_000, valid: true },
  { name: '100 readings (batch)', payload: Buffer.from(encodeEnvelope(envelope(100))), n: 10_000, valid: true },
  { name: 'heartbeat with health', payload: Buffer.from(encodeEnvelope({ ...envelope(0), health: { queue_depth: 3, uptime_s: 10, rss_bytes: 5e7 } })), n: 200_000, valid: true },
  { name: 'refused (bad value in reading 50)', payload: Buffer.from(encodeEnvelope(envelope(100)).replace(/"value":[^,]+/g, (m, i: number) => (i > 2000 && i < 2100 ? '"value":"x"' : m))), n: 10_000, valid: false },
];

function time(parse: (p: Buffer, device: string) => unknown, c: Case): number {
  const t = performance.now();
  for (let i = 0; i < c.n; i++) {
    try {
      parse(c.payload, 'bench-device-01');
    } catch {
      // the refusal case
    }
  }
  return (performance.now() - t) / c.n;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

const rows: string[][] = [['payload', 'hand-written', 'schema (ajv)', 'ratio']];
const figures: Record<string, number> = {};
for (const c of cases) {
  // Both must agree on what is valid before their speed means anything.
  const ok = (f: () => unknown): boolean => {
    try {
      f();
      return true;
    } catch {
      return false;
    }
  };
  if (ok(() => parseEnvelope(c.payload, 'bench-device-01')) !== c.valid || ok(() => handWrittenParseEnvelope(c.payload, 'bench-device-01')) !== c.valid) {
    throw new Error(`${c.name}: the parsers do not agree that it is ${c.valid ? 'valid' : 'invalid'}`);
  }
  for (let w = 0; w < 2; w++) {
    time(handWrittenParseEnvelope, c);
    time(parseEnvelope, c);
  }
  const old: number[] = [];
  const now: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    old.push(time(handWrittenParseEnvelope, c));
    now.push(time(parseEnvelope, c));
  }
  const o = median(old) * 1000;
  const s = median(now) * 1000;
  rows.push([c.name, `${o.toFixed(2)} µs`, `${s.toFixed(2)} µs`, `${(s / o).toFixed(2)}`]);
  const key = c.name.split(' (')[0]!.replace(/\W+/g, '_').replace(/^_|_$/g, '');
  figures[`${key}_hand_written_us`] = Number(o.toFixed(3));
  figures[`${key}_schema_us`] = Number(s.toFixed(3));
  figures[`${key}_ratio`] = Number((s / o).toFixed(3));
}
const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
for (const r of rows) console.log(r.map((c, i) => c.padEnd(w[i]!)).join('  '));
console.log(`(${cpus().length} cores, load ${loadavg()[0]!.toFixed(2)}; median of ${ROUNDS} rounds; ratio < 1 = the schema parser is faster)`);
console.log(JSON.stringify({ ...figures, load_avg_1m: Number(loadavg()[0]!.toFixed(2)) }));
