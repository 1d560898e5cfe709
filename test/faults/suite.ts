/**
 * The fault suite: each scenario runs the pipeline as separate processes (stack.ts) under steady
 * load, does its damage, lets it recover, and hands the ledger what it must tolerate (nothing,
 * unless it states a counted drop or a window nobody could read). `npm run test:faults` runs the
 * full suite (cli.ts), `npm test` the fast profile of a few (faults.test.ts).
 *
 * Adding a scenario: an entry in SCENARIOS with `run` (the damage) and, when it needs them, a
 * scenario YAML, edge or processor settings; its fast profile is what `npm test` runs.
 */
import { readFileSync } from 'node:fs';
import { sleep, waitFor } from '@fieldline/harness';
import { checkLedger, isExact, type ExpectedAlert, type LedgerOptions, type LedgerReport, type SentReading } from '../ledger/ledger.js';
import { readAlerts, readSent, readSessions, readStored, readTelemetry } from '../ledger/read.js';
import { Stack, type StackSpec } from './stack.js';

export type Profile = 'fast' | 'full';

/** What a scenario tells the ledger and the report. */
export interface Outcome {
  /** Wall time the fault was cleared (the last restart, the network back): recovery is measured from it. */
  clearedAt: number;
  ledger?: Omit<LedgerOptions, 'alerts'>;
  /** Alerts of other rules the ground truth calls for (e.g. `clock`), judged with `temp-high`. */
  alerts?: { rules: string[]; expected: ExpectedAlert[] };
  /** Extra checks a scenario makes of the services (health, counters); failures go to the report. */
  checks?: string[];
  notes?: string[];
}

export interface Ctx {
  profile: Profile;
  /** Seeded random numbers in [0, 1): the "random moments". */
  random: () => number;
  /** Board time (the record's ts) of a wall-clock moment. */
  boardTime: (wallMs: number) => number;
  log: (line: string) => void;
}

export interface Scenario {
  name: string;
  /** The row title in the report. */
  title: string;
  /** In `npm test`'s fast subset. */
  fast: boolean;
  spec?: Partial<StackSpec>;
  /** Steady load before the fault (ms). */
  warmupMs: Record<Profile, number>;
  run(stack: Stack, ctx: Ctx): Promise<Outcome>;
  /** Before the stack starts (e.g. mount a tmpfs for a state dir), and after it stopped, whatever happened. */
  before?(): void | Promise<void>;
  after?(): void | Promise<void>;
}

export interface Row {
  scenario: string;
  title: string;
  sent: number;
  lost: number;
  duplicated: number;
  /** Batches in TELEMETRY again from a bundle re-sent cut differently (the processor drops them; not a fault). */
  rebundled: number;
  altered: number;
  outOfOrder: number;
  /** Missing but stated by the scenario (counted drops, unread windows). */
  tolerated: number;
  alerts: LedgerReport['alerts'];
  recoverS: number;
  pass: boolean;
  problems: string[];
  notes: string[];
  durationS: number;
}

/** The load: two devices, one text-kv board each at 10 Hz with board timestamps, a temperature spike every 20 s. */
export function loadScenario(extra: { boards?: string; hz?: number } = {}): string {
  const board = (id: string, clock = ''): string => `      - id: ${id}
        protocol: text-kv
        hz: ${extra.hz ?? 10}
        timestamps: true
${clock}        channels:
          - { name: temp, model: temperature, noise: 0.05 }
          - { name: hum, model: humidity }
        anomalies:
          - { kind: spike, channel: temp, at: 7s, duration: 2s, magnitude: 30, every: 20s, count: 100 }
`;
  return `name: faults
start: 2026-01-01T00:00:00Z
devices:
  - id: fa
    boards:
${board('kv')}  - id: fb
    boards:
${board('kv')}${extra.boards ?? ''}`;
}

export const DETECTORS = [{ rule: 'temp-high', type: 'threshold', severity: 'critical', match: { sensor: 'temp' }, params: { above: 40, hysteresis: 2 } }];

interface GroundTruth {
  device: string;
  sensor: string;
  kind: string;
  start: number;
  end: number;
}

/**
 * The alerts the ground truth calls for: a spike whose readings were sent raises `temp-high` at
 * one of them and resolves once later readings are back (if any were sent). A spike partly in an
 * unobservable window is not required (its readings may be gone), and not counted against either.
 */
export function expectedAlerts(
  groundTruthFile: string,
  sent: readonly SentReading[],
  unobservable: LedgerOptions['unobservable'] = [],
  /** With counted drops: whether a sent reading was kept (a spike whose readings were dropped, as counted, is not required). */
  kept?: (r: SentReading) => boolean,
): { expected: ExpectedAlert[]; optional: ExpectedAlert[] } {
  const truth = readFileSync(groundTruthFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as GroundTruth);
  const expected: ExpectedAlert[] = [];
  const optional: ExpectedAlert[] = [];
  const bySensor = new Map<string, number[]>();
  const dropped = new Map<string, number[]>();
  for (const r of sent) {
    const k = `${r.device}/${r.sensor}`;
    let list = bySensor.get(k);
    if (!list) bySensor.set(k, (list = []));
    list.push(r.ts);
    if (kept && !kept(r)) {
      let d = dropped.get(k);
      if (!d) dropped.set(k, (d = []));
      d.push(r.ts);
    }
  }
  for (const g of truth) {
    if (g.kind !== 'spike') continue;
    const times = bySensor.get(`${g.device}/${g.sensor}`) ?? [];
    if (!times.some((t) => t >= g.start && t < g.end)) continue;
    // Resolving takes `alerts.clearMs` (1 s) of normal readings after the spike: required only
    // when readings were sent well past that (the boards may stop right after a spike).
    const e: ExpectedAlert = { device: g.device, sensor: g.sensor, rule: 'temp-high', from: g.start, to: g.end, resolves: times.some((t) => t >= g.end + 3000) };
    const touched =
      unobservable.some((w) => w.device === g.device && w.from <= g.end + 2000 && w.to >= g.start) ||
      (dropped.get(`${g.device}/${g.sensor}`) ?? []).some((t) => t >= g.start - 1000 && t <= g.end + 3000);
    (touched ? optional : expected).push(e);
  }
  return { expected, optional };
}

export async function runScenario(sc: Scenario, profile: Profile, seed: number, log: (l: string) => void = () => undefined): Promise<Row> {
  const t0 = performance.now();
  let rng = seed >>> 0 || 1;
  const random = (): number => ((rng = (Math.imul(rng, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const spec: StackSpec = { scenario: loadScenario(), seed, detectors: DETECTORS, ...sc.spec };
  log(`${sc.name}: starting the stack`);
  await sc.before?.();
  let stack: Stack;
  try {
    stack = await Stack.start(spec);
  } catch (err) {
    await sc.after?.();
    throw err;
  }
  const resumedAt = Date.now();
  const problems: string[] = [];
  let outcome: Outcome | undefined;
  let recoverS = NaN;
  try {
    const first = await waitFor(() => readSent(stack.sentFile)[0], { timeoutMs: 20_000, what: 'the first reading sent' });
    const boardTime = (wall: number): number => first.ts + (wall - resumedAt);
    await sleep(sc.warmupMs[profile]);
    log(`${sc.name}: fault`);
    outcome = await sc.run(stack, { profile, random, boardTime, log });
    problems.push(...(outcome.checks ?? []));
    recoverS = await timeToRecover(stack, outcome.clearedAt);
    log(`${sc.name}: recovered after ${recoverS.toFixed(1)} s; finishing`);
    await sleep(profile === 'fast' ? 3000 : 8000);
    const t1 = performance.now();
    await stack.finish(profile === 'fast' ? 90_000 : 240_000);
    log(`${sc.name}: drained in ${((performance.now() - t1) / 1000).toFixed(1)} s`);
    log(`${sc.name}: drained; reading back`);
    const sent = readSent(stack.sentFile);
    const [stored, telemetry, alerts, sessions] = await Promise.all([readStored(stack.influx.url, stack.devices), readTelemetry(stack.nc), readAlerts(stack.nc), readSessions(stack.nc)]);
    const keptKeys = new Set(stored.map((r) => `${r.device}/${r.sensor}/${r.tsUs}`));
    const kept = outcome.ledger?.counted ? (r: SentReading): boolean => keptKeys.has(`${r.device}/${r.sensor}/${Math.round(r.ts * 1000)}`) : undefined;
    const truth = expectedAlerts(stack.groundTruthFile, sent, outcome.ledger?.unobservable, kept);
    // Optional alerts (spikes whose readings may be gone) count neither way: matched, they are removed first.
    const optionalIds = new Set<string>();
    for (const o of truth.optional) {
      const hit = alerts.find((a) => a.rule === o.rule && a.device === o.device && a.sensor === o.sensor && a.start >= o.from && a.start <= o.to);
      if (hit) optionalIds.add(hit.id);
    }
    const report = checkLedger(
      { sent, stored, telemetry, alerts: alerts.filter((a) => !optionalIds.has(a.id)), sessions },
      { ...outcome.ledger, alerts: { rules: ['temp-high', ...(outcome.alerts?.rules ?? [])], expected: [...truth.expected, ...(outcome.alerts?.expected ?? [])] } },
    );
    problems.push(...report.problems);
    const pass = isExact(report) && (outcome.checks ?? []).length === 0 && report.sent > 0;
    return {
      scenario: sc.name,
      title: sc.title,
      sent: report.sent,
      lost: report.lost,
      duplicated: report.duplicated,
      rebundled: report.rebundled,
      altered: report.altered,
      outOfOrder: report.outOfOrder,
      tolerated: report.tolerated,
      alerts: report.alerts,
      recoverS,
      pass,
      problems: pass ? [] : [...problems, stack.logs()],
      notes: outcome.notes ?? [],
      durationS: (performance.now() - t0) / 1000,
    };
  } catch (err) {
    return {
      scenario: sc.name,
      title: sc.title,
      sent: 0,
      lost: 0,
      duplicated: 0,
      rebundled: 0,
      altered: 0,
      outOfOrder: 0,
      tolerated: 0,
      alerts: { expected: 0, missing: 0, unexpected: 0, duplicated: 0 },
      recoverS,
      pass: false,
      problems: [...problems, `${(err as Error).stack ?? String(err)}`, stack.logs()],
      notes: outcome?.notes ?? [],
      durationS: (performance.now() - t0) / 1000,
    };
  } finally {
    await stack.stop();
    await sc.after?.();
  }
}

/**
 * Seconds from the fault being cleared until every device's newest reading sent at that moment is
 * in InfluxDB (the backlog before it is through: edges and processor send oldest first).
 */
async function timeToRecover(stack: Stack, clearedAt: number): Promise<number> {
  const sent = readSent(stack.sentFile);
  const newest = new Map<string, number>();
  for (const r of sent) newest.set(r.device, Math.max(newest.get(r.device) ?? -Infinity, r.ts));
  await waitFor(
    async () => {
      for (const [device, ts] of newest) {
        const res = await fetch(`${stack.influx.url}/query`, { method: 'POST', body: new URLSearchParams({ q: `SELECT last("value") FROM "readings" WHERE "device" = '${device}'`, db: 'fieldline', epoch: 'u' }) });
        const json = (await res.json()) as { results?: { series?: { values: [number, number][] }[] }[] };
        const last = json.results?.[0]?.series?.[0]?.values[0]?.[0];
        if (last === undefined || last < Math.round(ts * 1000)) return false;
      }
      return true;
    },
    { timeoutMs: 120_000, intervalMs: 250, what: 'the pipeline to catch up after the fault' },
  );
  return Math.max(0, (Date.now() - clearedAt) / 1000);
}
