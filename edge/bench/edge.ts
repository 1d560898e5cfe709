/**
 * Edge agent benchmark (`npm run bench:edge`). Runs the agent as the .deb ships it (the staged
 * /usr/lib/fieldline-edge, started with the systemd unit's node flags and script) as a child
 * process against an in-process aedes broker and measures:
 *  1. steady state: RSS and CPU of the agent reading 10 sensors at 10 Hz (10 ptys, one sensor
 *     each), against an idle node process measured over the same window (baseline);
 *  2. drain: an agent restarted with a 1,000,000-reading backlog in its disk queue (as left by an
 *     outage) sends it all (drain.ts); the baseline is a bare MQTT client publishing the same
 *     envelopes.
 * Prints a table, then one JSON line. With EDGE_BENCH_AGAINST=<another checkout> it measures only
 * the drain, alternating this tree's agent and that tree's in one process (drain-ab.ts), for
 * EDGE_BENCH_ROUNDS rounds (default 5).
 */
import mqtt from 'mqtt';
import { telemetryTopic } from '@fieldline/contract';
import { cleanupAll } from '@fieldline/harness';
import { drainAgainst } from './drain-ab.js';
import { drainOnce } from './drain.js';
import { HZ, SENSORS, shippedAgentCommand, startBroker, steadyState } from './footprint.js';

// EDGE_BENCH_QUICK=1: a smoke run of the bench itself (small backlog, short window).
const QUICK = process.env.EDGE_BENCH_QUICK === '1';
const WINDOW_S = QUICK ? 5 : 30;
const BACKLOG = QUICK ? 50_000 : 1_000_000;
const BATCH = 500;

/** The node flags and script of the shipped systemd unit, the script mapped into the staged `lib`. */
let agentCommand: string[] = [];

/** Baseline: a bare mqtt.js client publishing 500-reading envelopes, QoS 1, 16 in flight. */
async function brokerOnly(): Promise<number> {
  const broker = await startBroker();
  const client = await mqtt.connectAsync(broker.url, { clientId: 'bench-raw' });
  const n = 200_000;
  const t0 = 1_800_000_000_000;
  const payloads: string[] = [];
  for (let i = 0; i < n; i += BATCH) {
    const readings = Array.from({ length: BATCH }, (_, k) => ({ sensor: `s${(i + k) % SENSORS}`, ts: t0 + (i + k) * 10, value: i + k, unit: 'C' }));
    payloads.push(JSON.stringify({ v: 1, device: 'raw-1', epoch: 'rawepoch1', seq: i / BATCH + 1, clock: { synced: true, now: t0 }, readings }));
  }
  const start = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < payloads.length) await client.publishAsync(telemetryTopic('raw-1'), payloads[next++]!, { qos: 1 });
    }),
  );
  const rate = n / ((performance.now() - start) / 1000);
  await client.endAsync();
  await broker.close();
  return rate;
}

/** The A/B drain against another tree: its own table and JSON line. */
async function against(tree: string): Promise<void> {
  const rounds = Number(process.env.EDGE_BENCH_ROUNDS ?? 5);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`EDGE_BENCH_ROUNDS: a whole number >= 1, not ${process.env.EDGE_BENCH_ROUNDS}`);
  const f = await drainAgainst(agentCommand, tree, { rounds, backlog: BACKLOG, batch: BATCH });
  const rows: Array<[string, string, string]> = [
    ['drain, median (this tree / other)', `${f.drain_readings_per_s} / ${f.against_drain_readings_per_s} readings/s`, `ratio ${f.drain_ratio}`],
    ['agent CPU per 1M readings, median', `${f.agent_cpu_s_per_million} / ${f.against_agent_cpu_s_per_million} s`, `ratio ${f.cpu_ratio}`],
    ['lost readings (all runs)', String(f.lost_readings), '0'],
  ];
  const w = Math.max(...rows.map((r) => r[0].length));
  process.stdout.write(`\nagainst ${tree}, ${rounds} alternating rounds\n`);
  for (const [a, b, c] of rows) process.stdout.write(`${a.padEnd(w)}  ${b.padEnd(36)}  ${c}\n`);
  process.stdout.write(`${JSON.stringify({ against: tree, ...f })}\n`);
}

async function main(): Promise<void> {
  agentCommand = await shippedAgentCommand();
  if (process.env.EDGE_BENCH_AGAINST) return against(process.env.EDGE_BENCH_AGAINST);
  const broker = await startBroker();
  const steady = await steadyState(agentCommand, broker, { windowS: WINDOW_S });
  await broker.close();
  const raw = await brokerOnly();
  const d = await drainOnce(agentCommand, { backlog: BACKLOG, batch: BATCH });
  const round = (v: number, p = 1): number => Math.round(v * 10 ** p) / 10 ** p;
  const rows: Array<[string, string, string]> = [
    ['steady: agent RSS (end / max)', `${round(steady.agent_rss_mb!)} / ${round(steady.agent_rss_max_mb!)} MB`, '< 60 MB'],
    ['steady: agent CPU (10 sensors x 10 Hz)', `${round(steady.agent_cpu_pct!, 2)} % of one core`, '< 3 %'],
    ['steady: readings reaching the broker', `${round(steady.steady_readings_per_s!)} readings/s`, `${SENSORS * HZ}/s`],
    ['baseline: idle node process RSS / CPU', `${round(steady.idle_node_rss_mb!)} MB / ${round(steady.idle_node_cpu_pct!, 2)} %`, ''],
    [`drain: ${BACKLOG.toLocaleString('en')}-reading backlog`, `${Math.round(d.drain_readings_per_s!)} readings/s`, '>= 20000/s'],
    ['drain incl. agent start-up + queue recovery', `${Math.round(d.drain_incl_startup_readings_per_s!)} readings/s`, ''],
    ['drain: lost readings / duplicate batches', `${d.drain_lost_readings} / ${d.drain_duplicate_batches}`, '0'],
    ['drain: agent peak RSS', `${round(d.drain_peak_rss_mb!)} MB`, ''],
    ['drain: agent CPU over the drain', `${round(d.drain_agent_cpu_s!, 2)} s`, ''],
    ['baseline: bare MQTT client -> broker', `${Math.round(raw)} readings/s`, ''],
  ];
  const w = Math.max(...rows.map((r) => r[0].length));
  process.stdout.write(`${'measure'.padEnd(w)}  ${'value'.padEnd(28)}  target\n`);
  for (const [a, b, c] of rows) process.stdout.write(`${a.padEnd(w)}  ${b.padEnd(28)}  ${c}\n`);
  const json = {
    agent_rss_mb: round(steady.agent_rss_mb!),
    agent_rss_max_mb: round(steady.agent_rss_max_mb!),
    agent_cpu_pct: round(steady.agent_cpu_pct!, 2),
    steady_readings_per_s: round(steady.steady_readings_per_s!),
    idle_node_rss_mb: round(steady.idle_node_rss_mb!),
    idle_node_cpu_pct: round(steady.idle_node_cpu_pct!, 2),
    drain_readings_per_s: Math.round(d.drain_readings_per_s!),
    drain_incl_startup_readings_per_s: Math.round(d.drain_incl_startup_readings_per_s!),
    drain_lost_readings: d.drain_lost_readings,
    drain_duplicate_batches: d.drain_duplicate_batches,
    drain_peak_rss_mb: round(d.drain_peak_rss_mb!),
    drain_agent_cpu_s: round(d.drain_agent_cpu_s!, 2),
    broker_only_readings_per_s: Math.round(raw),
  };
  process.stdout.write(`${JSON.stringify(json)}\n`);
}

main()
  .catch((err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exitCode = 1;
  })
  .finally(() => cleanupAll());
