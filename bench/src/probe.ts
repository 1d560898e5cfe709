/**
 * Latency probe: probe devices (`probe-1`, `probe-2`, …) beside the fleet load send single
 * readings, each on a sensor of its own and above the processor's `probe-limit` threshold, and
 * time each from its MQTT PUBLISH at the gateway to (a) its PUBACK (stored in JetStream), (b) its
 * alert arriving on `fl.alerts.>` and (c) its point being returned by an InfluxDB query (polled
 * every `pollMs`; the time is when the query that first returned it was sent).
 *
 * A device takes `PROBE_SENSORS_PER_DEVICE` sensors, then the next device sends: the gateway
 * dead-letters an envelope that would give a device more than `limits.maxSensorsPerDevice` (256)
 * sensors. One device for every step, as before, went past it in the fourth step at 12 Hz, and
 * the later steps had no alerts or points to time.
 */
import { randomBytes } from 'node:crypto';
import { encodeEnvelope, telemetryTopic, type Envelope } from '@fieldline/contract';
import mqtt, { type MqttClient } from 'mqtt';
import { connect, type NatsConnection } from 'nats';
import { DATABASE, PROBE_RULE, PROBE_VALUE, type Pipeline } from './services.js';
import { percentiles, type Percentiles } from './stats.js';

/** New sensors per probe device, under the gateway's default `limits.maxSensorsPerDevice` (256). */
export const PROBE_SENSORS_PER_DEVICE = 200;

/** The probe devices for `samples` probe readings (and one spare), to register with the gateway. */
export function probeDevices(samples: number): string[] {
  return Array.from({ length: Math.ceil(samples / PROBE_SENSORS_PER_DEVICE) + 1 }, (_, i) => `probe-${i + 1}`);
}

export interface ProbeSample {
  device: string;
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
  /** By `device/sensor`. */
  private readonly bySensor = new Map<string, ProbeSample & { ts: number }>();
  private seq = 0;
  private sent = 0;
  private readonly epoch = BigInt(`0x${randomBytes(8).toString('hex')}`).toString(36).slice(0, 12).padStart(8, '0');
  private readonly poller: NodeJS.Timeout;
  private polling = false;

  private constructor(
    private readonly p: Pipeline,
    private readonly devices: { id: string; client: MqttClient }[],
    private readonly nc: NatsConnection,
    readonly pollMs: number,
  ) {
    this.poller = setInterval(() => void this.poll(), pollMs);
  }

  /**
   * Connects every probe device before the load starts (each pays the gateway's password check once).
   * `pollMs` 100: a queryable time is at most that late, against a 1 s target; at 20 ms the polls
   * took influxd ~23 % of a core and the bench ~9 % in every sweep step (10 % step, two runs).
   */
  static async start(p: Pipeline, ids: readonly string[], pollMs = 100): Promise<Probe> {
    const devices = await Promise.all(ids.map(async (id) => ({ id, client: await mqtt.connectAsync(p.mqttUrl, { clientId: id, username: id, password: p.password, clean: true, reconnectPeriod: 1000 }) })));
    const nc = await connect({ servers: p.nats.url, noAsyncTraces: true });
    const probe = new Probe(p, devices, nc, pollMs);
    // fl.alerts.{severity}.{device}; the probe rule matches `probe-*` devices only.
    nc.subscribe('fl.alerts.*.*', {
      callback: (_err, m) => {
        const at = performance.now();
        const a = JSON.parse(m.string()) as { rule: string; state: string; device: string; sensor: string };
        const s = a.rule === PROBE_RULE && a.state === 'firing' ? probe.bySensor.get(`${a.device}/${a.sensor}`) : undefined;
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
    const d = this.devices[Math.floor(this.sent++ / PROBE_SENSORS_PER_DEVICE)];
    if (!d) throw new Error(`probe: more than ${this.devices.length * PROBE_SENSORS_PER_DEVICE} probe readings; start the probe with more devices (probeDevices)`);
    const now = Date.now();
    const env: Envelope = { v: 1, device: d.id, epoch: this.epoch, seq: ++this.seq, clock: { synced: true, now }, readings: [{ sensor, ts: now, value: PROBE_VALUE }] };
    const payload = encodeEnvelope(env);
    const s = { device: d.id, sensor, ts: now, sentAt: performance.now() } as ProbeSample & { ts: number };
    this.bySensor.set(`${d.id}/${sensor}`, s);
    d.client.publish(telemetryTopic(d.id), payload, { qos: 1 }, (err) => {
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
      const series = await this.p.influx.query(`SELECT "value", "device", "sensor" FROM "readings" WHERE "device" =~ /^probe-/ AND time >= ${from}ms`, DATABASE);
      const dev = series[0]?.columns.indexOf('device') ?? -1;
      const col = series[0]?.columns.indexOf('sensor') ?? -1;
      for (const row of series[0]?.values ?? []) {
        const s = this.bySensor.get(`${String(row[dev])}/${String(row[col])}`);
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
    await Promise.all(this.devices.map((d) => d.client.endAsync()));
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
