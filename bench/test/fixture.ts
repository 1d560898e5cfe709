import type { BenchResults } from '../src/results.js';
import type { SweepStep } from '../src/sweep.js';

const procs = { gateway: { cpu_pct: 40, cpu_s: 4, rss_mb: 200, peak_rss_mb: 220, main_wait_pct: 12 }, processor: { cpu_pct: 90, cpu_s: 9, rss_mb: 300, peak_rss_mb: 310 } };
const lat = (p50: number, p99: number, max: number, n = 100) => ({ p50, p99, max, n });

function step(load_pct: number, alertP99: number, queryP99: number, lost = 0): SweepStep {
  const offered = load_pct * 2000;
  return {
    load_pct,
    offered_readings_per_s: offered,
    acked_readings_per_s: offered,
    e2e_readings_per_s: Math.min(offered, 200_000),
    puback_ms: lat(2, 9, 12),
    probe: { sent: 80, puback_ms: lat(1, 3, 4), alert_ms: lat(alertP99 / 2, alertP99, alertP99 + 1), queryable_ms: lat(queryP99 / 2, queryP99, queryP99 + 5), alerts_missing: 0, points_missing: 0 },
    backlog_messages_end: load_pct > 100 ? 5000 : 0,
    readings_acked: offered * 7,
    readings_in_influx: offered * 7 - lost,
    lost,
    procs,
    // Only the 50 % step has flush figures; the others stand for an older results file, which had none.
    ...(load_pct === 50 ? { flush: { flushes: 120, stages: { raw: { mean_ms: 18, total_s: 2.2 }, total: { mean_ms: 21, total_s: 2.5 } }, loop_wait_s: 0, delay_ms: { messages: 6000, p50: 3.2, p99: 31.5 } } } : {}),
  };
}

/** A complete run's results, as main.ts assembles them, with round made-up figures. */
export function fixture(): BenchResults {
  return {
    version: 1,
    started_at: '2026-01-05T10:00:00.000Z',
    duration_s: 280,
    mode: 'default',
    options: {},
    machine: { cpu: 'Test CPU', cores: 2, mem_gb: 8, os: 'Debian GNU/Linux 12 (bookworm)', node: '20.20.2', load_avg_start: 0.1, load_avg_end: 1.5, speed_start: { one_core_envelopes_per_s: 12_345, all_cores_envelopes_per_s: 24_000 }, speed_end: { one_core_envelopes_per_s: 11_000, all_cores_envelopes_per_s: 6_789 }, steal_pct: 4.2 },
    raw: {
      aedes: [100, 10, 1].map((k) => ({ readings_per_envelope: k, readings_per_s: 800_000 / (k === 100 ? 1 : k === 10 ? 4 : 40), envelopes_per_s: 8000, procs })),
      jetstream: [100, 10, 1].map((k) => ({ readings_per_envelope: k, readings_per_s: 1_000_000 / (k === 100 ? 1 : k === 10 ? 5 : 40), envelopes_per_s: 10_000, procs })),
      influx: { lines_per_s: 400_000, batch_lines: 5000, concurrency: 8, batches: 320, procs },
    },
    e2e: [
      { readings_per_envelope: 100, devices: 50, load_s: 12, readings_acked: 3_000_000, readings_in_influx: 3_000_000, lost: 0, publish_errors: 0, e2e_readings_per_s: 280_000, acked_readings_per_s: 290_000, puback_ms: lat(20, 80, 120), drain_after_load_s: 0.4, max_backlog_messages: 900, procs, flush: { flushes: 600, stages: { queued: { mean_ms: 40, total_s: 24 }, raw: { mean_ms: 30, total_s: 18 }, commit: { mean_ms: 2, total_s: 1.2 }, total: { mean_ms: 35, total_s: 21 } }, loop_wait_s: 3.5 } },
      { readings_per_envelope: 1, devices: 50, load_s: 12, readings_acked: 400_000, readings_in_influx: 399_990, lost: 10, publish_errors: 0, e2e_readings_per_s: 33_000, acked_readings_per_s: 33_500, puback_ms: lat(5, 30, 50), drain_after_load_s: 0.1, max_backlog_messages: 50, procs, flush: { flushes: 0, stages: {}, loop_wait_s: 0 } },
    ],
    sweep: { max_readings_per_s: 200_000, readings_per_envelope: 100, step_s: 7, steps: [step(10, 20, 300), step(50, 40, 600), step(100, 90, 900), step(120, 2000, 4000)], lost: 0, drain_after_load_s: 3.2, probe_poll_ms: 20 },
    burst: { devices: 1000, backlog_min: 10, readings_expected: 2_400_000, readings_acked: 2_400_000, readings_in_influx: 2_400_000, lost: 0, publish_errors: 0, connect_retries: 700, refused_by_gateway: { connection_rate: 650 }, connected_s: 12, acked_s: 20, drain_s: 25, peak_rss_mb: { gateway: 600, processor: 1200 }, procs },
    node_red: {
      readings_per_envelope: 100,
      devices: 50,
      load_s: 8,
      wait_s: 30,
      max: { offered_readings_per_s: 0, readings_acked: 4_000_000, readings_in_influx: 300_000, lost: 3_700_000, stored_readings_per_s: 30_000, still_writing: true, dropped_by_mosquitto: 3_000_000 },
      ladder: [{ offered_readings_per_s: 15_000, readings_acked: 120_000, readings_in_influx: 120_000, lost: 0, stored_readings_per_s: 14_000, still_writing: false, dropped_by_mosquitto: 0 }],
      zero_loss_readings_per_s: 14_000,
      procs: { 'node-red': { cpu_pct: 100, cpu_s: 10, rss_mb: 300, peak_rss_mb: 400 } },
    },
    edge: { agent_rss_mb: 50, agent_rss_max_mb: 52, agent_cpu_pct: 2.1, steady_readings_per_s: 100, idle_node_rss_mb: 40, idle_node_cpu_pct: 0 },
  };
}
