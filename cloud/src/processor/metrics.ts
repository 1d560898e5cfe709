import { collectProcessMetrics } from '@fieldline/runtime/metrics';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Effects } from './pipeline.js';

/** Prometheus metrics of one processor (its own registry, so several can run in one process). */
export function createMetrics() {
  const registry = collectProcessMetrics(new Registry());
  const labelNames = ['partition'] as const;
  return {
    registry,
    readings: new Counter({ name: 'fieldline_processor_readings_total', help: 'Readings processed (rate() gives readings/s)', labelNames, registers: [registry] }),
    late: new Counter({ name: 'fieldline_processor_late_readings_total', help: 'Readings beyond the allowed lateness (side output)', labelNames, registers: [registry] }),
    implausible: new Counter({ name: 'fieldline_processor_implausible_readings_total', help: 'Readings whose time cannot be right (clock ahead of the stream, or a synced clock before clock.earliestMs): stored as uncertain, flagged by a clock alert, not windowed', labelNames, registers: [registry] }),
    duplicates: new Counter({ name: 'fieldline_processor_duplicate_batches_total', help: 'Batches seen before (redelivery), skipped', labelNames, registers: [registry] }),
    badMessages: new Counter({ name: 'fieldline_processor_bad_messages_total', help: 'TELEMETRY messages that failed validation (dead-lettered)', labelNames: ['reason'], registers: [registry] }),
    alerts: new Counter({ name: 'fieldline_processor_alerts_total', help: 'Alert transitions published', labelNames: ['severity', 'state'], registers: [registry] }),
    sessions: new Counter({ name: 'fieldline_processor_sessions_total', help: 'Sessions closed', labelNames: ['closed_by'], registers: [registry] }),
    sessionsOpen: new Gauge({ name: 'fieldline_processor_sessions_open', help: 'Open session windows', labelNames, registers: [registry] }),
    lag: new Gauge({ name: 'fieldline_processor_lag_messages', help: 'TELEMETRY messages of this partition stored after its last commit: not yet delivered, or read and not committed', labelNames, registers: [registry] }),
    sinkRetries: new Counter({ name: 'fieldline_processor_sink_retries_total', help: 'Flush retries while InfluxDB or JetStream was unavailable (the ack is held meanwhile)', registers: [registry] }),
    sinkQuarantined: new Counter({ name: 'fieldline_processor_sink_quarantined_total', help: 'Points InfluxDB refused, sent to DEADLETTER', registers: [registry] }),
    // Where a flush's time goes (issue 16): each step of the chain, and the message loop's waits on it.
    flushStage: new Histogram({ name: 'fieldline_processor_flush_stage_seconds', help: 'Time of each step of a batch flush (snapshot: cutting the checkpoint in slices; raw, rollups, publish, checkpoint, commit) and of the whole flush (total), retries included', labelNames: ['stage'], buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers: [registry] }),
    // How late the processor is, in time rather than in messages: an alert leaves when its message is done.
    delay: new Histogram({ name: 'fieldline_processor_delay_seconds', help: 'From a TELEMETRY message stored in JetStream (the server\'s clock) to the end of its processing here, its alerts published: how far behind the processor is, per live message', buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60], registers: [registry] }),
    loopWait: new Counter({ name: 'fieldline_processor_backpressure_seconds_total', help: 'Time the message loop stood still waiting for the flush chain (backpressure: the batches ahead not yet committed)', labelNames, registers: [registry] }),
    sinkLines: new Counter({ name: 'fieldline_processor_sink_lines_total', help: 'Lines written to InfluxDB', registers: [registry] }),
    rollupLines: new Counter({ name: 'fieldline_processor_rollup_lines_total', help: 'Rollup points written (a window again after a late reading counts again)', registers: [registry] }),
    rollupRepairs: new Counter({ name: 'fieldline_processor_rollup_repairs_total', help: 'Rollup windows recomputed from the raw points (a reading came after its window was final)', registers: [registry] }),
    // Ownership, leases, takeovers and checkpoints (leases.ts, takeover.ts).
    members: new Gauge({ name: 'fieldline_processor_members', help: 'Processors of this group seen live (this one included)', registers: [registry] }),
    owned: new Gauge({ name: 'fieldline_processor_partition_owned', help: '1 while this processor holds the partition lease', labelNames, registers: [registry] }),
    leaseEpoch: new Gauge({ name: 'fieldline_processor_lease_epoch', help: 'Epoch of the partition lease this processor holds or last held', labelNames, registers: [registry] }),
    leasesLost: new Counter({ name: 'fieldline_processor_leases_lost_total', help: 'Leases lost without a clean hand-over (taken over, or expired before a renewal got through)', labelNames: ['why'], registers: [registry] }),
    takeovers: new Counter({ name: 'fieldline_processor_takeovers_total', help: 'Partitions taken over, by how the state was rebuilt (checkpoint, replay, fresh)', labelNames: ['partition', 'state'], registers: [registry] }),
    takeoverSeconds: new Histogram({ name: 'fieldline_processor_takeover_seconds', help: 'From lease acquired to live processing (state restored, replayed up to the last commit)', buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60], registers: [registry] }),
    committedSeq: new Gauge({ name: 'fieldline_processor_committed_seq', help: 'TELEMETRY stream sequence up to which the partition\'s effects are durable and committed', labelNames, registers: [registry] }),
    checkpoints: new Counter({ name: 'fieldline_processor_checkpoints_total', help: 'Checkpoints written, by result', labelNames: ['result'], registers: [registry] }),
    checkpointBytes: new Gauge({ name: 'fieldline_processor_checkpoint_bytes', help: 'Stored (compressed) size of the partition\'s latest checkpoint', labelNames, registers: [registry] }),
    checkpointsRefused: new Counter({ name: 'fieldline_processor_checkpoints_refused_total', help: 'Checkpoints that could not be restored (corrupt, unknown version, other config); the state was replayed instead', registers: [registry] }),
    republishSkipped: new Counter({ name: 'fieldline_processor_republish_skipped_total', help: 'Alerts and sessions found already published by a previous owner after a takeover, not published again', registers: [registry] }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/** Counts what a committed batch did (its effects are durable: counted once, never for a retry). */
export function countCommitted(m: Metrics, partition: number, fx: Effects, lines: number, openSessions: number): void {
  const label = { partition: String(partition) };
  m.readings.inc(label, fx.readings);
  m.late.inc(label, fx.late);
  m.implausible.inc(label, fx.implausible);
  m.duplicates.inc(label, fx.duplicates);
  m.sinkLines.inc(lines);
  m.rollupLines.inc(fx.points.rollupCount);
  m.rollupRepairs.inc(fx.points.repairs.length);
  for (const a of fx.alerts) m.alerts.inc({ severity: a.severity, state: a.state });
  for (const s of fx.sessions) m.sessions.inc({ closed_by: s.closedBy });
  m.sessionsOpen.set(label, openSessions);
}
