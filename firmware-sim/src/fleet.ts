import { randomBytes } from 'node:crypto';
import { encodeEnvelope, telemetryTopic, assertDeviceId, type Envelope, type Reading } from '@fieldline/contract';
import { backoffDelay } from '@fieldline/runtime';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { FleetError } from './errors.js';
import { silentLogger } from './log.js';
import { createRng } from './prng.js';

export interface FleetOptions {
  /** Broker URL, e.g. `mqtt://127.0.0.1:1883`. */
  url: string;
  /** How many devices (ids `{prefix}-{n}`), or the ids. @default 100 */
  devices?: number | string[];
  /** @default fleet */
  prefix?: string;
  /** Username/password for a device; `clientId` is always the device id. @default none */
  credentials?: (deviceId: string) => { username: string; password: string } | undefined;
  /** Total readings per second over the fleet; 0 = as fast as acks allow. @default 10000 */
  rate?: number;
  /** @default 1 */
  readingsPerEnvelope?: number;
  /** Sensors per device, named `s0`…; readings cycle through them. @default 4 */
  sensorsPerDevice?: number;
  /** Stop sending after this long. One of `durationMs` / `envelopes` / `backlogMs` is required. */
  durationMs?: number;
  /** Stop after this many envelopes in total. */
  envelopes?: number;
  /** Unacknowledged QoS 1 publishes per connection (bounded in-flight). @default 64 */
  maxInflight?: number;
  /** Connections opened at once. @default 50 */
  connectConcurrency?: number;
  /** How long to wait for outstanding PUBACKs after the last publish. @default 30000 */
  drainTimeoutMs?: number;
  /** Seeds reading values and latency sampling. @default 1 */
  seed?: number;
  /** Edge epoch (`[a-z0-9]{8,32}`). @default random per run, so reruns are not deduplicated */
  epoch?: string;
  /**
   * Backlog mode, as devices coming back after an outage: each device holds this much event time
   * of readings (every sensor one reading per `sampleIntervalMs`, from `now - backlogMs`), starts
   * sending as soon as it is connected, and stops when its backlog is sent.
   */
  backlogMs?: number;
  /** Event-time step per sensor in backlog mode. @default 1000 */
  sampleIntervalMs?: number;
  /**
   * Connections refused as "server unavailable" (a broker's connection rate limit in a reconnect
   * storm) or failing on the network are retried with jittered exponential backoff, as edge
   * agents do, until `totalMs` after the first attempt. Bad credentials still fail at once.
   * @default no retry
   */
  connectRetry?: { totalMs: number; minMs?: number; maxMs?: number };
  /** Called once when publishing starts (live mode: after every device connected). */
  onStart?: () => void;
  /** Extra mqtt.js options (TLS, protocol version…). */
  mqttOptions?: Partial<IClientOptions>;
  signal?: AbortSignal;
  logger?: Logger;
}

export interface FleetResult {
  devices: number;
  envelopesSent: number;
  envelopesAcked: number;
  readingsAcked: number;
  /** Publish errors (PUBACK never came, connection lost with the message in flight). */
  errors: number;
  /** From the first publish to the last PUBACK (or the drain timeout). */
  elapsedMs: number;
  /** From the call to the last device connected. */
  connectMs: number;
  /** Connection attempts retried (see `connectRetry`). */
  connectRetries: number;
  pubackLatencyMs: { p50: number; p95: number; p99: number; max: number };
}

interface Sim {
  id: string;
  client: MqttClient;
  topic: string;
  seq: number;
  inflight: number;
  lastTs: number[];
  /** Readings still to send (backlog mode; Infinity otherwise). */
  remaining: number;
}

const LATENCY_CAP = 1 << 20;

function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return 0;
  const v = sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return Math.round(v * 100) / 100;
}

// CONNACK return codes that no retry can change: protocol, client id, credentials, authorization.
const FINAL_REFUSALS = new Set([1, 2, 4, 5]);

async function connectOne(id: string, opts: FleetOptions, onRetry: () => void): Promise<MqttClient> {
  const options = { clientId: id, clean: true, reconnectPeriod: 1000, connectTimeout: 15_000, ...opts.credentials?.(id), ...opts.mqttOptions };
  const retry = opts.connectRetry;
  const deadline = performance.now() + (retry?.totalMs ?? 0);
  for (let attempt = 0; ; attempt++) {
    try {
      return await mqtt.connectAsync(opts.url, options);
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      const wait = retry ? backoffDelay(attempt, { baseMs: retry.minMs ?? 500, maxMs: retry.maxMs ?? 30_000 }) : 0;
      if (!retry || (typeof code === 'number' && FINAL_REFUSALS.has(code)) || performance.now() + wait > deadline) throw err;
      onRetry();
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}

/** Connects every device, `connectConcurrency` at a time, handing each client to `onConnect` as it connects. */
async function connectAll(ids: string[], opts: FleetOptions, log: Logger, onConnect: (client: MqttClient, index: number) => void): Promise<{ retries: number }> {
  const clients: MqttClient[] = [];
  const concurrency = opts.connectConcurrency ?? 50;
  let retries = 0;
  try {
    for (let i = 0; i < ids.length; i += concurrency) {
      const batch = ids.slice(i, i + concurrency).map((id, k) =>
        connectOne(id, opts, () => retries++).then((c) => {
          clients.push(c);
          onConnect(c, i + k);
          return c;
        }),
      );
      const settled = await Promise.allSettled(batch);
      const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
      if (failed) throw new FleetError(`could not connect every device to ${opts.url}: ${(failed.reason as Error).message}`, { cause: failed.reason });
    }
  } catch (err) {
    await Promise.all(clients.map((c) => c.endAsync(true)));
    throw err;
  }
  log.info({ devices: clients.length, retries }, 'fleet connected');
  return { retries };
}

/**
 * Simulates many edge devices straight over MQTT (no ptys): each publishes contract envelopes
 * (`epoch`, strictly increasing `seq`, `clock`) at QoS 1 on its own telemetry topic, pipelined up
 * to `maxInflight` unacknowledged messages. Pacing is global: at time t, `rate·t` readings are due.
 */
export async function runFleet(opts: FleetOptions): Promise<FleetResult> {
  if (opts.durationMs === undefined && opts.envelopes === undefined && opts.backlogMs === undefined) throw new FleetError('runFleet: give durationMs, envelopes or backlogMs');
  const log = (opts.logger ?? silentLogger).child({ component: 'fleet' });
  const prefix = opts.prefix ?? 'fleet';
  const ids = Array.isArray(opts.devices) ? opts.devices : Array.from({ length: opts.devices ?? 100 }, (_, i) => `${prefix}-${i + 1}`);
  ids.forEach((id, i) => assertDeviceId(id, `devices[${i}]`));
  const perEnvelope = opts.readingsPerEnvelope ?? 1;
  const sensors = Array.from({ length: opts.sensorsPerDevice ?? 4 }, (_, i) => `s${i}`);
  const rate = opts.rate ?? 10_000;
  const maxInflight = opts.maxInflight ?? 64;
  const epoch = opts.epoch ?? BigInt(`0x${randomBytes(10).toString('hex')}`).toString(36).padStart(8, '0').slice(0, 16);
  const rng = createRng(opts.seed ?? 1);

  const calledAt = performance.now();
  const backlog = opts.backlogMs;
  const interval = opts.sampleIntervalMs ?? 1000;
  const backlogStart = Date.now() - (backlog ?? 0);
  const perDevice = backlog === undefined ? Infinity : sensors.length * Math.floor(backlog / interval);
  const sims: Sim[] = [];
  let connectedAt = 0;
  const addSim = (client: MqttClient, i: number): void => {
    const s: Sim = { id: ids[i]!, client, topic: telemetryTopic(ids[i]!), seq: 0, inflight: 0, lastTs: sensors.map(() => backlogStart - interval), remaining: perDevice };
    client.on('error', (err) => log.warn({ device: s.id, err }, 'mqtt error'));
    sims.push(s);
  };
  let connecting: Promise<{ retries: number }>;
  if (backlog === undefined) {
    // Live mode: the clock starts once every device is connected (connecting is not load).
    connecting = Promise.resolve(await connectAll(ids, opts, log, addSim));
    connectedAt = performance.now();
  } else {
    // Backlog mode: each device drains as soon as it is connected, as after an outage.
    connecting = connectAll(ids, opts, log, (c, i) => {
      addSim(c, i);
      pump();
    });
    connecting.then(() => (connectedAt = performance.now()), () => undefined);
  }

  const latencies = new Float64Array(LATENCY_CAP);
  let latencyCount = 0;
  let sent = 0;
  let acked = 0;
  let readingsAcked = 0;
  let errors = 0;
  let inflightTotal = 0;
  let lastAckAt = 0;
  let rr = 0;
  let stopped = false;
  const startedAt = performance.now();
  const envelopeRate = rate / perEnvelope;
  opts.onStart?.();

  const build = (s: Sim): string => {
    const now = Date.now();
    const n = Math.min(perEnvelope, s.remaining);
    s.remaining -= n;
    const readings: Reading[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const si = (s.seq * perEnvelope + i) % sensors.length;
      // Event time must be unique per (device, sensor): it keys the reading downstream.
      const ts = backlog === undefined ? Math.max(now, s.lastTs[si]! + 1) : s.lastTs[si]! + interval;
      s.lastTs[si] = ts;
      readings[i] = { sensor: sensors[si]!, ts, value: Math.round((20 + 5 * Math.sin(ts / 60_000) + rng.normal()) * 100) / 100 };
    }
    const env: Envelope = { v: 1, device: s.id, epoch, seq: ++s.seq, clock: { synced: true, now }, readings };
    return encodeEnvelope(env);
  };

  const due = (): number => {
    const byCount = opts.envelopes ?? Infinity;
    if (rate === 0) return byCount;
    return Math.min(byCount, Math.floor((envelopeRate * (performance.now() - startedAt)) / 1000) + 1);
  };

  const publish = (s: Sim): void => {
    const readingsInIt = Math.min(perEnvelope, s.remaining);
    const payload = build(s);
    const t = performance.now();
    s.inflight++;
    inflightTotal++;
    sent++;
    s.client.publish(s.topic, payload, { qos: 1 }, (err) => {
      s.inflight--;
      inflightTotal--;
      if (err) {
        errors++;
      } else {
        acked++;
        readingsAcked += readingsInIt;
        lastAckAt = performance.now();
        const ms = lastAckAt - t;
        // Reservoir sampling keeps the percentiles unbiased past the cap, in bounded memory.
        if (latencyCount < LATENCY_CAP) latencies[latencyCount] = ms;
        else {
          const j = Math.floor(rng.next() * (latencyCount + 1));
          if (j < LATENCY_CAP) latencies[j] = ms;
        }
        latencyCount++;
      }
      if (!stopped && s.remaining > 0 && sent < due()) refillSoon();
    });
  };

  // Refills after PUBACKs once per turn of the event loop, not one PUBLISH per PUBACK: mqtt.js
  // handles each incoming packet in its own tick, and a PUBLISH written there is one writev
  // syscall of its own. Written together in one pump, a device's PUBLISHes share one write
  // (mqtt-packet corks the socket until the next tick). Measured against bare aedes
  // (bench/src/aedes-alone.ts), 50 devices, 1 reading per envelope, 8 s, the fleet the limit:
  // writev 44 % of the fleet's CPU before, 6 % after; 65k envelopes/s acked before, 69k-79k after.
  let refilling = false;
  const refillSoon = (): void => {
    if (refilling) return;
    refilling = true;
    setImmediate(() => {
      refilling = false;
      pump();
    });
  };

  // Round-robin over devices with a free in-flight slot until what is due has been sent.
  const pump = (): void => {
    const target = due();
    let idle = 0;
    while (!stopped && sent < target && idle < sims.length) {
      const s = sims[rr]!;
      rr = (rr + 1) % sims.length;
      if (s.remaining > 0 && s.inflight < maxInflight) {
        publish(s);
        idle = 0;
      } else idle++;
    }
  };

  let connectError: unknown;
  let allConnected = false;
  connecting.then(
    () => (allConnected = true),
    (err: unknown) => (connectError = err),
  );
  await new Promise<void>((resolve) => {
    const finish = (): void => {
      stopped = true;
      clearInterval(timer);
      opts.signal?.removeEventListener('abort', finish);
      resolve();
    };
    const backlogSent = (): boolean => backlog !== undefined && allConnected && sims.every((s) => s.remaining === 0);
    const timer = setInterval(() => {
      if (
        connectError !== undefined ||
        (opts.durationMs !== undefined && performance.now() - startedAt >= opts.durationMs) ||
        (opts.envelopes !== undefined && sent >= opts.envelopes) ||
        backlogSent()
      )
        finish();
      else pump();
    }, 2);
    opts.signal?.addEventListener('abort', finish);
    pump();
  });
  if (connectError !== undefined) {
    await Promise.all(sims.map((s) => s.client.endAsync(true)));
    throw connectError;
  }
  const { retries } = await connecting;

  const drainUntil = performance.now() + (opts.drainTimeoutMs ?? 30_000);
  while (inflightTotal > 0 && performance.now() < drainUntil) await new Promise((r) => setTimeout(r, 5));
  const elapsedMs = Math.round(((inflightTotal > 0 ? performance.now() : lastAckAt || performance.now()) - startedAt) * 10) / 10;
  const unacked = inflightTotal;
  await Promise.all(sims.map((s) => s.client.endAsync(true)));
  const sorted = latencies.slice(0, Math.min(latencyCount, LATENCY_CAP)).sort();
  const result: FleetResult = {
    devices: sims.length,
    envelopesSent: sent,
    envelopesAcked: acked,
    readingsAcked,
    errors: errors + unacked,
    elapsedMs,
    connectMs: Math.round((connectedAt - calledAt) * 10) / 10,
    connectRetries: retries,
    pubackLatencyMs: { p50: percentile(sorted, 0.5), p95: percentile(sorted, 0.95), p99: percentile(sorted, 0.99), max: percentile(sorted, 1) },
  };
  log.info(result, 'fleet done');
  return result;
}
