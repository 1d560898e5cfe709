import type { AlertEvent, Envelope, Reading } from '@fieldline/contract';
import { UsageError } from '@fieldline/runtime';
import { loadProcessorConfig } from '../processor/config.js';
import { Effects, PartitionPipeline } from '../processor/pipeline.js';

const DAY = 86_400_000;

/** One injected anomaly of the scenario (firmware-sim's ground-truth record). */
export interface Truth {
  device: string;
  sensor: string;
  kind: string;
  start: number;
  end: number;
}

/** The slice of firmware-sim `evaluate --scenario` uses (imported only when it runs). */
interface Sim {
  resolveScenario(nameOrFile: string): { start: number; duration?: number; devices: { id: string }[] };
  generateSamples(scenario: unknown, o: { seed: number; until?: number }): Iterable<{ device: string; sensor: string; ts: number; value: number; unit: string }> & { groundTruth: Truth[] };
}

export interface ScenarioOptions {
  /** A built-in scenario name (`fieldline-sim list`) or a scenario file. */
  scenario: string;
  /** @default 1 */
  seed?: number;
  /** Simulated length (ms). @default the scenario's duration */
  durationMs?: number;
  /** A processor config file (windows, detectors, alerts). @default the processor defaults */
  config?: string;
  /** An alert that opens this long after an anomaly's end still counts as finding it. @default 60000 */
  graceMs?: number;
  /** Devices send a heartbeat this often (as the edge does), so a device whose sensors all drop out still moves on. @default 10000 */
  heartbeatMs?: number;
  progress?: (doneMs: number, totalMs: number) => void;
}

export interface KindResult {
  kind: string;
  injected: number;
  detected: number;
  recall: number;
  /** Event time from the anomaly's start to the first alert on its sensor (ms). */
  delayMedianMs: number | null;
  delayMaxMs: number | null;
}

export interface ScenarioResult {
  scenario: string;
  seed: number;
  days: number;
  sensors: number;
  readings: number;
  kinds: KindResult[];
  alerts: number;
  /** Alerts that opened during (or within the grace after) an anomaly of their sensor. */
  matched: number;
  precision: number;
  falseAlerts: number;
  falseAlertsPerSensorDay: number;
  /** Per rule: how many alerts it opened, how many of them were false. */
  rules: { rule: string; alerts: number; falseAlerts: number }[];
  /** The anomalies no alert found. */
  missed: Truth[];
  /** Per anomaly, how many alerts matched it (one incident, ideally one alert per rule that sees it). */
  found: (Truth & { alerts: number })[];
  /** The false alerts: device, sensor, rule, start. */
  falses: { device: string; sensor: string; rule: string; start: number }[];
}

const round = (x: number, d = 4): number => Math.round(x * 10 ** d) / 10 ** d;

function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Compares opened alerts with the ground truth (pure; exported for tests). */
export function scoreAlerts(alerts: readonly AlertEvent[], truth: readonly Truth[], sensors: number, days: number, graceMs: number): Omit<ScenarioResult, 'scenario' | 'seed' | 'days' | 'sensors' | 'readings'> {
  const opened = alerts.filter((a) => a.state === 'firing');
  const matches = (a: AlertEvent, t: Truth): boolean => a.device === t.device && a.sensor === t.sensor && a.start >= t.start && a.start <= t.end + graceMs;
  const kinds = [...new Set(truth.map((t) => t.kind))].sort().map((kind): KindResult => {
    const mine = truth.filter((t) => t.kind === kind);
    const delays: number[] = [];
    for (const t of mine) {
      const first = opened.filter((a) => matches(a, t)).reduce((m, a) => Math.min(m, a.start), Infinity);
      if (first < Infinity) delays.push(first - t.start);
    }
    return { kind, injected: mine.length, detected: delays.length, recall: round(mine.length ? delays.length / mine.length : 1), delayMedianMs: median(delays), delayMaxMs: delays.length ? Math.max(...delays) : null };
  });
  const isFalse = (a: AlertEvent): boolean => !truth.some((t) => matches(a, t));
  const falseAlerts = opened.filter(isFalse).length;
  const rules = [...new Set(opened.map((a) => a.rule))].sort().map((rule) => {
    const mine = opened.filter((a) => a.rule === rule);
    return { rule, alerts: mine.length, falseAlerts: mine.filter(isFalse).length };
  });
  const missed = truth.filter((t) => !opened.some((a) => matches(a, t)));
  const found = truth.map((t) => ({ ...t, alerts: opened.filter((a) => matches(a, t)).length }));
  const falses = opened.filter(isFalse).map((a) => ({ device: a.device, sensor: a.sensor, rule: a.rule, start: a.start }));
  return {
    kinds,
    missed,
    found,
    falses,
    alerts: opened.length,
    matched: opened.length - falseAlerts,
    precision: round(opened.length ? (opened.length - falseAlerts) / opened.length : 1),
    falseAlerts,
    falseAlertsPerSensorDay: round(falseAlerts / Math.max(1, sensors) / days),
    rules,
  };
}

async function loadSim(): Promise<Sim> {
  try {
    return (await import('@fieldline/firmware-sim')) as unknown as Sim;
  } catch (err) {
    throw new Error('evaluate --scenario needs @fieldline/firmware-sim (npm install @fieldline/firmware-sim)', { cause: err });
  }
}

/**
 * `fieldline-cloud evaluate --scenario <name|file>`: firmware-sim's pure generator feeds the
 * processor's pipeline (one partition; each device's samples of one instant in one envelope, plus
 * a heartbeat every `heartbeatMs`, as the edge sends them), and the alerts are compared with the
 * scenario's ground truth.
 */
export async function evaluateScenario(o: ScenarioOptions): Promise<ScenarioResult> {
  // The config first: a bad key is reported (exit 78) before any simulation runs.
  const config = loadProcessorConfig(o.config ?? {});
  const sim = await loadSim();
  const scenario = sim.resolveScenario(o.scenario);
  const seed = o.seed ?? 1;
  const durationMs = o.durationMs ?? scenario.duration;
  if (durationMs === undefined) throw new UsageError(`${o.scenario}: the scenario has no duration; give --duration`);
  const until = scenario.start + durationMs;
  const run = sim.generateSamples(scenario, { seed, until });
  const pipeline = new PartitionPipeline(config);
  const fx = new Effects();
  const alerts: AlertEvent[] = [];
  const heartbeatMs = o.heartbeatMs ?? 10_000;
  const seqs = new Map<string, number>();
  const beats = new Map<string, number>();
  const sensors = new Set<string>();
  let readings = 0;
  const send = (device: string, now: number, rs: Reading[]): void => {
    const seq = (seqs.get(device) ?? 0) + 1;
    seqs.set(device, seq);
    const env: Envelope = { v: 1, device, epoch: 'scenario', seq, clock: { synced: true, now }, readings: rs };
    pipeline.process(env, fx);
    for (const a of fx.alerts) alerts.push(a);
    fx.clear();
  };
  let batch: Reading[] = [];
  let batchDevice = '';
  let batchTs = NaN;
  const flush = (): void => {
    if (batch.length) send(batchDevice, batchTs, batch);
    batch = [];
  };
  let lastProgress = scenario.start;
  for (const s of run) {
    if (s.device !== batchDevice || s.ts !== batchTs) {
      flush();
      batchDevice = s.device;
      batchTs = s.ts;
      // Heartbeats of every device up to now, in time order (the edge sends them on a timer).
      for (const d of scenario.devices) {
        let next = beats.get(d.id) ?? scenario.start + heartbeatMs;
        while (next <= s.ts) {
          send(d.id, next, []);
          next += heartbeatMs;
        }
        beats.set(d.id, next);
      }
    }
    batch.push({ sensor: s.sensor, ts: s.ts, value: s.value, unit: s.unit });
    sensors.add(`${s.device}/${s.sensor}`);
    readings++;
    if (o.progress && s.ts - lastProgress >= 600_000) o.progress((lastProgress = s.ts) - scenario.start, durationMs);
  }
  flush();
  o.progress?.(durationMs, durationMs);
  const days = durationMs / DAY;
  return { scenario: o.scenario, seed, days: round(days, 3), sensors: sensors.size, readings, ...scoreAlerts(alerts, run.groundTruth, sensors.size, days, o.graceMs ?? 60_000) };
}

/** The result as a readable table. */
export function scenarioTable(r: ScenarioResult): string {
  const ms = (x: number | null): string => (x === null ? '–' : x >= 60_000 ? `${(x / 60_000).toFixed(1)} min` : `${(x / 1000).toFixed(1)} s`);
  const lines = [
    `scenario ${r.scenario} (seed ${r.seed}): ${r.days} simulated days, ${r.sensors} sensors, ${r.readings} readings`,
    '',
    '| anomaly kind | injected | detected | recall | delay median | delay max |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    ...r.kinds.map((k) => `| ${k.kind} | ${k.injected} | ${k.detected} | ${k.recall.toFixed(3)} | ${ms(k.delayMedianMs)} | ${ms(k.delayMaxMs)} |`),
    '',
    `alerts ${r.alerts}, matching an anomaly ${r.matched}, precision ${r.precision.toFixed(3)}; false alerts ${r.falseAlerts} = ${r.falseAlertsPerSensorDay} per sensor per simulated day`,
    `by rule: ${r.rules.map((x) => `${x.rule} ${x.alerts} (${x.falseAlerts} false)`).join(', ') || 'none'}`,
  ];
  const iso = (t: number): string => new Date(t).toISOString().replace('.000Z', 'Z');
  if (r.missed.length) lines.push('', `missed (${r.missed.length}): ${r.missed.slice(0, 40).map((t) => `${t.device}/${t.sensor} ${t.kind} ${iso(t.start)}`).join('; ')}${r.missed.length > 40 ? '; …' : ''}`);
  if (r.falses.length) lines.push('', `false alerts (${r.falses.length}): ${r.falses.slice(0, 40).map((a) => `${a.device}/${a.sensor} ${a.rule} ${iso(a.start)}`).join('; ')}${r.falses.length > 40 ? '; …' : ''}`);
  return lines.join('\n') + '\n';
}
