import { collectProcessMetrics } from '@fieldline/runtime/metrics';
import { Counter, Gauge, Registry } from 'prom-client';

/** Prometheus metrics of one processor (its own registry, so several can run in one process). */
export function createMetrics() {
  const registry = collectProcessMetrics(new Registry());
  const labelNames = ['partition'] as const;
  return {
    registry,
    readings: new Counter({ name: 'fieldline_processor_readings_total', help: 'Readings processed (rate() gives readings/s)', labelNames, registers: [registry] }),
    late: new Counter({ name: 'fieldline_processor_late_readings_total', help: 'Readings beyond the allowed lateness (side output)', labelNames, registers: [registry] }),
    duplicates: new Counter({ name: 'fieldline_processor_duplicate_batches_total', help: 'Batches seen before (redelivery), skipped', labelNames, registers: [registry] }),
    badMessages: new Counter({ name: 'fieldline_processor_bad_messages_total', help: 'TELEMETRY messages that failed validation (dead-lettered)', labelNames: ['reason'], registers: [registry] }),
    alerts: new Counter({ name: 'fieldline_processor_alerts_total', help: 'Alert transitions published', labelNames: ['severity', 'state'], registers: [registry] }),
    sessions: new Counter({ name: 'fieldline_processor_sessions_total', help: 'Sessions closed', labelNames: ['closed_by'], registers: [registry] }),
    sessionsOpen: new Gauge({ name: 'fieldline_processor_sessions_open', help: 'Open session windows', labelNames, registers: [registry] }),
    lag: new Gauge({ name: 'fieldline_processor_lag_messages', help: 'TELEMETRY messages not yet delivered to this consumer', labelNames, registers: [registry] }),
    sinkRetries: new Counter({ name: 'fieldline_processor_sink_retries_total', help: 'Flush retries while InfluxDB or JetStream was unavailable (the ack is held meanwhile)', registers: [registry] }),
    sinkQuarantined: new Counter({ name: 'fieldline_processor_sink_quarantined_total', help: 'Points InfluxDB refused, sent to DEADLETTER', registers: [registry] }),
    sinkLines: new Counter({ name: 'fieldline_processor_sink_lines_total', help: 'Lines written to InfluxDB', registers: [registry] }),
    rollupLines: new Counter({ name: 'fieldline_processor_rollup_lines_total', help: 'Rollup points written (a window again after a late reading counts again)', registers: [registry] }),
    rollupRepairs: new Counter({ name: 'fieldline_processor_rollup_repairs_total', help: 'Rollup windows recomputed from the raw points (a reading came after its window was final)', registers: [registry] }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
