/**
 * Latency probe: one more device (`probe-1`) beside the fleet load sends single readings, each on
 * a sensor of its own and above the processor's `probe-limit` threshold, and times each from its
 * MQTT PUBLISH at the gateway to (a) its PUBACK (stored in JetStream), (b) its alert arriving on
 * `fl.alerts.>` and (c) its point being returned by an InfluxDB query (polled every `pollMs`; the
 * time is when the query that first returned it was sent).
 */
import { randomBytes } from 'node:crypto';
import { encodeEnvelope, telemetryTopic, type Envelope } from '@fieldline/contract';
import mqtt, { type MqttClient } from 'mqtt';
import { connect, type NatsConnection } from 'nats';
import { DATABASE, PROBE_RULE, PROBE_VALUE, type Pipeline } from './services.js';
import { percentiles, type Percentiles } from './stats.js';

export const PROBE_DEVICE = 'probe-1';

export interface ProbeSample {
  sensor: string;
  sentAt: number;
  ackAt?: number;
  alertAt?: number;
  queryAt?: number;
}

export interface ProbeFigures {
  sent: number;
  puback_ms: Percentiles | null;
  alert_ms: Percentiles | null;
  queryable_ms: Percentiles | null;
  /** Probe readings whose alert / point never arrived within the settle time. */
  alerts_missing: number;
  points_missing: number;
}

export class Probe {
  private readonly bySensor = new Map<string, ProbeSample & { ts: number }>();
  private seq = 0;
  private readonly epoch = BigInt(`0x${randomBytes(8).toString('hex')}`).toString(36).slice(0, 12).padStart(8, '0');
  private readonly poller: NodeJS.Timeout;
  private polling = false;

  private constructor(
    private readonly p: Pipeline,
    private readonly client: MqttClient,
    private readonly nc: NatsConnection,
    readonly pollMs: number,
  ) {
    this.poller = setInterval(() => void this.poll(), pollMs);
  }

  static async start(p: Pipeline, pollMs = 20): Promise<Probe> {
    const client = await mqtt.connectAsync(p.mqttUrl, { clientId: PROBE_DEVICE, username: PROBE_DEVICE, password: p.password, clean: true, reconnectPeriod: 1000 });
    const nc = await connect({ servers: p.nats.url, noAsyncTraces: true });
    const probe = new Probe(p, client, nc, pollMs);
    nc.subscribe(`fl.alerts.*.${PROBE_DEVICE}`, {
      callback: (_err, m) => {
        const at = performance.now();
        const a = JSON.parse(m.string()) as { rule: string; state: string; sensor: string };
        const s = a.rule === PROBE_RULE && a.state === 'firing' ? probe.bySensor.get(a.sensor) : undefined;
        if (s && s.alertAt === undefined) s.alertAt = at;
      },
    });
    await nc.flush();
    return probe;
  }

  /** One probe reading every 1000/hz ms for `durationMs`, on sensors `{tag}-{i}`; the samples fill in as answers arrive. */
  async run(tag: string, durationMs: number, hz: number): Promise<ProbeSample[]> {
    const samples: ProbeSample[] = [];
    const end = performance.now() + durationMs;
    for (let i = 0; performance.now() < end; i++) {
      samples.push(this.send(`${tag}-${i}`));
      await new Promise((r) => setTimeout(r, 1000 / hz));
    }
    return samples;
  }

  private send(sensor: string): ProbeSample {
    const now = Date.now();
    const env: Envelope = { v: 1, device: PROBE_DEVICE, epoch: this.epoch, seq: ++this.seq, clock: { synced: true, now }, readings: [{ sensor, ts: now, value: PROBE_VALUE }] };
    const payload = encodeEnvelope(env);
    const s = { sensor, ts: now, sentAt: performance.now() } as ProbeSample & { ts: number };
    this.bySensor.set(sensor, s);
    this.client.publish(telemetryTopic(PROBE_DEVICE), payload, { qos: 1 }, (err) => {
      if (!err) s.ackAt = performance.now();
    });
    return s;
  }

  private async poll(): Promise<void> {
    if (this.polling) return;
    let from = Infinity;
    for (const s of this.bySensor.values()) if (s.queryAt === undefined) from = Math.min(from, s.ts);
    if (from === Infinity) return;
    this.polling = true;
    const sentAt = performance.now();
    try {
      const series = await this.p.influx.query(`SELECT "value", "sensor" FROM "readings" WHERE "device" = '${PROBE_DEVICE}' AND time >= ${from}ms`, DATABASE);
      const col = series[0]?.columns.indexOf('sensor') ?? -1;
      for (const row of series[0]?.values ?? []) {
        const s = this.bySensor.get(String(row[col]));
        if (s && s.queryAt === undefined) s.queryAt = sentAt;
      }
    } catch {
      // a query failing under load is retried at the next poll
    } finally {
      this.polling = false;
    }
  }

  /** Waits until every sample has its alert and point (or `timeoutMs` passes). */
  async settle(samples: ProbeSample[], timeoutMs: number): Promise<void> {
    const end = performance.now() + timeoutMs;
    while (performance.now() < end && samples.some((s) => s.alertAt === undefined || s.queryAt === undefined || s.ackAt === undefined)) {
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async close(): Promise<void> {
    clearInterval(this.poller);
    await this.client.endAsync();
    await this.nc.close();
  }
}

export function probeFigures(samples: ProbeSample[]): ProbeFigures {
  const lat = (k: 'ackAt' | 'alertAt' | 'queryAt'): number[] => samples.filter((s) => s[k] !== undefined).map((s) => s[k]! - s.sentAt);
  return {
    sent: samples.length,
    puback_ms: percentiles(lat('ackAt')),
    alert_ms: percentiles(lat('alertAt')),
    queryable_ms: percentiles(lat('queryAt')),
    alerts_missing: samples.filter((s) => s.alertAt === undefined).length,
    points_missing: samples.filter((s) => s.queryAt === undefined).length,
  };
}
