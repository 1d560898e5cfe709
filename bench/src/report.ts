/**
 * The report of one run, from its results alone (so it can be re-rendered from a JSON file): the
 * tables (plain text for the terminal, Markdown for bench/results/), and the one-line JSON summary
 * with named figures and units that ends stdout.
 */
import type { Percentiles } from './stats.js';
import type { BenchResults } from './results.js';
import type { SweepStep } from './sweep.js';
import type { ProcFigures } from './proc-meter.js';
import { KEPT_UP, targets } from './targets.js';

export interface Table {
  title: string;
  head: string[];
  rows: string[][];
  note?: string;
}

const n = (v: number | null | undefined): string => (v === null || v === undefined || Number.isNaN(v) ? '-' : Math.round(v).toLocaleString('en'));

/**
 * Where throughput stops rising, from the steps as measured: the highest step that kept up (stored
 * at least `KEPT_UP` of its offered load) and the step that stored the most. The closed-loop maximum the
 * steps are a share of overlaps the load with its drain, so it can lie above what the pipeline
 * sustains with the load running; these say what it sustained.
 */
export function sustained(steps: readonly SweepStep[]): { keptUp: SweepStep | undefined; peak: SweepStep | undefined } {
  let keptUp: SweepStep | undefined;
  let peak: SweepStep | undefined;
  for (const x of steps) {
    if (x.e2e_readings_per_s >= KEPT_UP * x.offered_readings_per_s && (!keptUp || x.offered_readings_per_s > keptUp.offered_readings_per_s)) keptUp = x;
    if (!peak || x.e2e_readings_per_s > peak.e2e_readings_per_s) peak = x;
  }
  return { keptUp, peak };
}

/** The sweep's note on where throughput stopped rising (`sustained`). */
function keptUpNote(steps: readonly SweepStep[]): string {
  const { keptUp, peak } = sustained(steps);
  const rule = `stored >= ${KEPT_UP * 100} % of the offered load`;
  const kept = keptUp ? `kept up (${rule}) up to the ${keptUp.load_pct} % step: ${n(keptUp.e2e_readings_per_s)} of ${n(keptUp.offered_readings_per_s)} readings/s` : `no step kept up (${rule})`;
  return peak ? `${kept}; most stored in a step: ${n(peak.e2e_readings_per_s)} readings/s at ${peak.load_pct} %` : kept;
}

const pct = (a: number, b: number | undefined): string => (b ? `${Math.round((a / b) * 100)} %` : '-');
const lat = (p: Percentiles | null | undefined): string => (p ? `${p.p50} / ${p.p99} / ${p.max}` : '-');
const cpu = (procs: Record<string, { cpu_pct: number }>, part: string, client: string): string => `${procs[part]?.cpu_pct ?? '-'} / ${procs[client]?.cpu_pct ?? '-'}`;
const ms = (p: Percentiles | null | undefined): string => (p ? `${Math.round(p.p50)} / ${Math.round(p.p99)} / ${Math.round(p.max)}` : '-');

export function tables(r: BenchResults): Table[] {
  const out: Table[] = [];
  const rawAt = (list: { readings_per_envelope: number; readings_per_s: number }[] | undefined, k: number): number | undefined => list?.find((x) => x.readings_per_envelope === k)?.readings_per_s;
  if (r.e2e?.length) {
    out.push({
      title: `End to end, closed loop: ${r.e2e[0]!.devices} fleet devices over MQTT QoS 1 -> InfluxDB, counted there by reading`,
      head: ['readings/envelope', 'end-to-end readings/s', 'acked readings/s', 'lost', 'of raw InfluxDB write', 'of raw JetStream', 'of raw aedes', 'PUBACK p50 / p99 / max ms', 'drain after load s'],
      rows: r.e2e.map((e) => [
        String(e.readings_per_envelope),
        n(e.e2e_readings_per_s),
        n(e.acked_readings_per_s),
        String(e.lost),
        pct(e.e2e_readings_per_s, r.raw?.influx.lines_per_s),
        pct(e.e2e_readings_per_s, rawAt(r.raw?.jetstream, e.readings_per_envelope)),
        pct(e.e2e_readings_per_s, rawAt(r.raw?.aedes, e.readings_per_envelope)),
        lat(e.puback_ms),
        String(e.drain_after_load_s),
      ]),
      note: 'end-to-end = readings counted in InfluxDB / (first publish -> processor counter reaching the acked total)',
    });
    const steps = ['queued', 'raw', 'rollups', 'publish', 'checkpoint', 'commit', 'total'];
    out.push({
      title: "Where the processor's flush time goes (its own metrics, closed-loop runs and sweep steps)",
      head: ['run', 'flushes', ...steps.map((k) => `${k} mean ms`), 'loops waiting on the chain s', 'stored -> processed p50 / p99 ms'],
      rows: [
        ...r.e2e.map((e) => ({ run: `${e.readings_per_envelope} readings/envelope`, flush: e.flush })),
        // A sweep step has the figures when the run recorded them (results written before did not).
        ...(r.sweep?.steps ?? []).filter((s) => s.flush).map((s) => ({ run: `sweep ${s.load_pct} %`, flush: s.flush })),
      ].map(({ run, flush }) => [
        run,
        n(flush?.flushes ?? 0),
        ...steps.map((k) => (flush?.stages[k] ? String(flush.stages[k]!.mean_ms) : '-')),
        String(flush?.loop_wait_s ?? '-'),
        flush?.delay_ms ? `${flush.delay_ms.p50} / ${flush.delay_ms.p99}` : '-',
      ]),
      note: 'per partition, summed over the partitions; queued = from the cut to the start of its flush (behind the batches ahead); total = the flush without the queue; stored -> processed = from a message stored in JetStream to the end of its processing, its alerts published (every message of the run; estimated from the buckets of fieldline_processor_delay_seconds, so as coarse as they are)',
    });
  }
  if (r.raw) {
    out.push({
      title: 'Raw limits, same run',
      head: ['part alone', 'readings/envelope', 'readings/s', 'envelopes/s', 'CPU % part / client'],
      rows: [
        ...r.raw.aedes.map((a) => ['aedes (QoS 1 receive, own process)', String(a.readings_per_envelope), n(a.readings_per_s), n(a.envelopes_per_s), cpu(a.procs, 'aedes', 'fleet')]),
        ...r.raw.jetstream.map((j) => ['JetStream async publish (nats.js, msgID)', String(j.readings_per_envelope), n(j.readings_per_s), n(j.envelopes_per_s), cpu(j.procs, 'nats-server', 'bench')]),
        [`InfluxDB batch write (${r.raw.influx.batch_lines}-line batches, ${r.raw.influx.concurrency} at once)`, '-', `${n(r.raw.influx.lines_per_s)} lines/s`, '-', cpu(r.raw.influx.procs, 'influxd', 'bench')],
      ],
      note: 'the client is the fleet process (aedes) or this process (JetStream, InfluxDB); a client near 100 % limits the figure',
    });
  }
  if (r.sweep) {
    const s = r.sweep;
    out.push({
      title: `Open-loop sweep: ${s.readings_per_envelope} readings/envelope, % of the maximum ${n(s.max_readings_per_s)} readings/s, ${s.step_s} s per step, probe beside the load`,
      head: ['load', 'offered/s', 'acked/s', 'end-to-end/s', 'PUBACK p50 / p99 / max ms', 'alert p50 / p99 / max ms', 'queryable p50 / p99 / max ms', 'probes', 'backlog msgs', 'lost'],
      rows: s.steps.map((x) => [`${x.load_pct} %`, n(x.offered_readings_per_s), n(x.acked_readings_per_s), n(x.e2e_readings_per_s), lat(x.puback_ms), ms(x.probe.alert_ms), ms(x.probe.queryable_ms), String(x.probe.sent), n(x.backlog_messages_end), String(x.lost)]),
      note: `latency from the probe's PUBLISH; queryable = first InfluxDB query (every ${s.probe_poll_ms} ms) that returns the point; backlog drained ${s.drain_after_load_s} s after the last step; lost ${s.lost}; ${keptUpNote(s.steps)}`,
    });
  }
  if (r.burst) {
    const b = r.burst;
    out.push({
      title: `Burst: ${n(b.devices)} devices reconnect at once, each with ${b.backlog_min} min of backlog (4 sensors at 1 Hz)`,
      head: ['readings held', 'acked', 'in InfluxDB', 'lost', 'all connected s', 'all acked s', 'drained s', 'connect retries', 'peak RSS MB'],
      rows: [[n(b.readings_expected), n(b.readings_acked), n(b.readings_in_influx), String(b.lost), String(b.connected_s), String(b.acked_s), String(b.drain_s), n(b.connect_retries), Object.entries(b.peak_rss_mb).map(([k, v]) => `${k} ${v}`).join(', ')]],
      note: `refused by the gateway during the storm: ${Object.entries(b.refused_by_gateway).map(([k, v]) => `${k} ${n(v)}`).join(', ') || 'none'} (a device whose CONNACK does not come within 15 s also retries)`,
    });
  }
  if (r.node_red) {
    const b = r.node_red;
    const rows = [b.max, ...b.ladder].map((x) => [x.offered_readings_per_s ? n(x.offered_readings_per_s) : 'as fast as acked', n(x.readings_acked), n(x.readings_in_influx), n(x.lost), n(x.dropped_by_mosquitto), n(x.stored_readings_per_s), x.still_writing ? 'yes' : 'no']);
    out.push({
      title: `Baseline: Mosquitto -> Node-RED mqtt in -> function -> influxdb out, ${b.devices} devices, ${b.readings_per_envelope} readings/envelope, ${b.load_s} s`,
      head: ['offered readings/s', 'acked', 'in InfluxDB', 'lost', 'of which Mosquitto dropped', 'stored readings/s', 'still writing at the end of the wait'],
      rows,
      note: `lost = acked by Mosquitto but not in InfluxDB ${b.wait_s} s after the load (what Node-RED still held then was only in its memory); zero-loss throughput: ${b.zero_loss_readings_per_s === null ? 'none found (every run lost readings)' : `${n(b.zero_loss_readings_per_s)} readings/s`}; Node-RED peak RSS ${b.procs['node-red']?.peak_rss_mb ?? '-'} MB`,
    });
  }
  const phases: [string, Record<string, ProcFigures> | undefined][] = [
    ...(r.e2e ?? []).map((e) => [`e2e ${e.readings_per_envelope}/envelope`, e.procs] as [string, typeof e.procs]),
    ...(r.sweep?.steps ?? []).filter((s) => [50, 100].includes(s.load_pct)).map((s) => [`sweep ${s.load_pct} %`, s.procs] as [string, typeof s.procs]),
    ['burst', r.burst?.procs],
    ['Node-RED baseline', r.node_red?.procs],
  ];
  const names = [...new Set(phases.flatMap(([, p]) => Object.keys(p ?? {})))];
  if (names.length) {
    out.push({
      title: 'CPU (% of one core) / main thread waiting for a core (% of the time) / peak RSS (MB) per process',
      head: ['phase', ...names],
      rows: phases.filter(([, p]) => p).map(([label, p]) => [label, ...names.map((k) => (p![k] ? `${p![k].cpu_pct} / ${p![k].main_wait_pct ?? '-'} / ${p![k].peak_rss_mb}` : '-'))]),
    });
  }
  if (r.edge) {
    const e = r.edge;
    out.push({
      title: 'Edge footprint: the shipped agent, 10 sensors at 10 Hz (bench:edge\'s measurement)',
      head: ['RSS end / max MB', 'CPU % of one core', 'readings/s to the broker', 'idle node RSS MB / CPU %'],
      rows: [[`${e.agent_rss_mb.toFixed(1)} / ${e.agent_rss_max_mb.toFixed(1)}`, e.agent_cpu_pct.toFixed(2), e.steady_readings_per_s.toFixed(1), `${e.idle_node_rss_mb.toFixed(1)} / ${e.idle_node_cpu_pct.toFixed(2)}`]],
    });
  }
  out.push({ title: 'Targets', head: ['target', 'wanted', 'measured', 'met', 'gap'], rows: targets(r).map((t) => [t.name, t.target, t.measured, t.pass === null ? '-' : t.pass ? 'yes' : 'NO', t.gap ?? '']) });
  for (const p of r.profiles ?? []) {
    out.push({ title: `CPU profile: ${p.process}, ${p.busy_s} s busy of ${p.sampled_s} s (${p.file})`, head: ['self %', 'function', 'where'], rows: p.top.map((t) => [String(t.self_pct), t.function, t.where]) });
  }
  return out;
}

/** CPU stolen by the hypervisor (% of all ticks during the run) from which the report warns that the figures are low. */
export const NOISY_STEAL_PCT = 1;

const header = (r: BenchResults): string => {
  const m = r.machine;
  const at = (x: BenchResults['machine']['speed_start']): string => (x ? `${n(x.one_core_envelopes_per_s)} on one core, ${n(x.all_cores_envelopes_per_s)} on all` : '-');
  const speed = m.speed_start === undefined ? '' : `; machine speed (100-reading envelopes parsed and encoded/s) ${at(m.speed_start)} at the start, ${at(m.speed_end)} at the end; CPU stolen by the hypervisor ${m.steal_pct ?? '-'} %`;
  // Measured 2026-12-03, eleven closed-loop runs at 100 readings/envelope within 15 minutes: those
  // with >= 1.2 % stolen stored 156k-182k readings/s, those with <= 1.1 % 198k-226k (README).
  const noisy = (m.steal_pct ?? 0) >= NOISY_STEAL_PCT ? ` (a noisy host: runs with ${NOISY_STEAL_PCT} % or more stolen measured 15-30 % less; compare with a quieter run)` : '';
  return `fieldline end-to-end bench, ${r.mode} run, ${r.started_at}, ${r.duration_s} s; ${m.cores} × ${m.cpu}, ${m.mem_gb} GB, ${m.os}, Node ${m.node}; load average ${m.load_avg_start} at the start, ${m.load_avg_end} at the end${speed}${noisy}`;
};

export function renderText(r: BenchResults): string {
  const parts = [header(r)];
  for (const t of tables(r)) {
    const all = [t.head, ...t.rows];
    const w = t.head.map((_, i) => Math.max(...all.map((row) => (row[i] ?? '').length)));
    parts.push(`\n${t.title}\n${all.map((row) => row.map((c, i) => c.padEnd(w[i]!)).join('  ').trimEnd()).join('\n')}${t.note ? `\n(${t.note})` : ''}`);
  }
  if (r.errors) parts.push(`\nphases that failed:\n${Object.entries(r.errors).map(([k, v]) => `  ${k}: ${v}`).join('\n')}`);
  return parts.join('\n');
}

export function renderMarkdown(r: BenchResults, chartFile?: string): string {
  const cell = (s: string): string => s.replace(/\|/g, '\\|');
  const parts = [`# fieldline end-to-end bench\n\n${header(r)}.`];
  if (chartFile) parts.push(`![throughput and latency against offered load](${chartFile})`);
  for (const t of tables(r)) {
    parts.push(`## ${t.title}\n\n| ${t.head.map(cell).join(' | ')} |\n| ${t.head.map(() => '---').join(' | ')} |\n${t.rows.map((row) => `| ${row.map(cell).join(' | ')} |`).join('\n')}${t.note ? `\n\n${t.note}.` : ''}`);
  }
  if (r.errors) parts.push(`## Phases that failed\n\n${Object.entries(r.errors).map(([k, v]) => `- ${k}: ${cell(v)}`).join('\n')}`);
  return `${parts.join('\n\n')}\n`;
}

/** The last stdout line: named figures, each name ending in its unit. */
export function summary(r: BenchResults): Record<string, number | string | null> {
  const s: Record<string, number | string | null> = { mode: r.mode };
  for (const e of r.e2e ?? []) {
    const k = e.readings_per_envelope;
    s[`e2e_${k}_readings_per_s`] = e.e2e_readings_per_s;
    s[`e2e_${k}_acked_readings_per_s`] = e.acked_readings_per_s;
    s[`e2e_${k}_lost_readings`] = e.lost;
    s[`e2e_${k}_puback_p99_ms`] = e.puback_ms.p99;
    s[`e2e_${k}_processor_main_wait_pct`] = e.procs.processor?.main_wait_pct ?? null;
    if (r.raw) s[`e2e_${k}_of_raw_influx_pct`] = Math.round((e.e2e_readings_per_s / r.raw.influx.lines_per_s) * 1000) / 10;
  }
  if (r.raw) {
    s.raw_influx_lines_per_s = r.raw.influx.lines_per_s;
    for (const a of r.raw.aedes) s[`raw_aedes_${a.readings_per_envelope}_readings_per_s`] = a.readings_per_s;
    for (const j of r.raw.jetstream) s[`raw_jetstream_${j.readings_per_envelope}_readings_per_s`] = j.readings_per_s;
  }
  const half = r.sweep?.steps.find((x) => x.load_pct === 50);
  if (r.sweep) {
    s.sweep_max_readings_per_s = r.sweep.max_readings_per_s;
    const { keptUp, peak } = sustained(r.sweep.steps);
    s.sweep_kept_up_readings_per_s = keptUp?.e2e_readings_per_s ?? null;
    s.sweep_peak_readings_per_s = peak?.e2e_readings_per_s ?? null;
    s.sweep_lost_readings = r.sweep.lost;
    s.half_load_puback_p99_ms = half?.puback_ms.p99 ?? null;
    s.half_load_alert_p99_ms = half?.probe.alert_ms?.p99 ?? null;
    s.half_load_queryable_p99_ms = half?.probe.queryable_ms?.p99 ?? null;
    s.half_load_processor_main_wait_pct = half?.procs?.processor?.main_wait_pct ?? null;
  }
  if (r.burst) {
    s.burst_devices = r.burst.devices;
    s.burst_drain_s = r.burst.drain_s;
    s.burst_lost_readings = r.burst.lost;
    s.burst_peak_rss_mb = Math.max(...Object.values(r.burst.peak_rss_mb));
  }
  if (r.node_red) {
    s.node_red_readings_per_s = r.node_red.max.stored_readings_per_s;
    s.node_red_lost_readings = r.node_red.max.lost;
    s.node_red_zero_loss_readings_per_s = r.node_red.zero_loss_readings_per_s;
  }
  if (r.edge) {
    s.edge_rss_mb = Math.round(r.edge.agent_rss_max_mb * 10) / 10;
    s.edge_cpu_pct = Math.round(r.edge.agent_cpu_pct * 100) / 100;
  }
  const t = targets(r);
  s.targets_met_count = t.filter((x) => x.pass === true).length;
  s.targets_missed_count = t.filter((x) => x.pass === false).length;
  s.duration_s = r.duration_s;
  s.load_avg_1m_start = r.machine.load_avg_start;
  for (const [when, x] of [['start', r.machine.speed_start], ['end', r.machine.speed_end]] as const) {
    if (!x) continue;
    s[`machine_speed_${when}_one_core_envelopes_per_s`] = x.one_core_envelopes_per_s;
    s[`machine_speed_${when}_all_cores_envelopes_per_s`] = x.all_cores_envelopes_per_s;
  }
  if (r.machine.steal_pct !== undefined) s.steal_pct = r.machine.steal_pct;
  return s;
}
