/**
 * NATS side of the API: live updates (SSE) from `fl.alerts.>`, `fl.sessions.>` and, while a client
 * wants them, `fl.telemetry.>`; commands to `fl.commands.{device}`; device status from the gateway's
 * KV bucket. Each SSE client has a bounded send buffer; events beyond it are dropped, counted, and
 * the client is told how many it missed (architecture: "Bounded").
 */
import type { ServerResponse } from 'node:http';
import { connect, type NatsConnection, type Subscription } from 'nats';
import type { Logger } from 'pino';
import { commandMessage, parseAlert, parseSession, parseStatusEntry, subjects, telemetryEnvelopes, type CommandMessage, type DeviceStatusEntry, type Envelope } from '@fieldline/contract';
import { readSecret } from '@fieldline/runtime';
import { drainOrClose } from '@fieldline/runtime/nats';
import type { ApiConfig } from './config.js';

export interface LiveFilter {
  device?: string;
  sensor?: string;
  readings: boolean;
}

interface Client {
  res: ServerResponse;
  filter: LiveFilter;
  dropped: number;
}

export interface LiveCounters {
  sseDropped: number;
  liveBadMessages: number;
}

export class NatsUnavailableError extends Error {
  override readonly name = 'NatsUnavailableError';
}

export class Live {
  private readonly clients = new Set<Client>();
  private readonly subs: Subscription[] = [];
  private telemetrySub: Subscription | undefined;
  private statusWarned = false;
  private readonly heartbeat: NodeJS.Timeout;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly cfg: ApiConfig,
    private readonly log: Logger,
    readonly counters: LiveCounters,
  ) {
    this.subs.push(nc.subscribe('fl.alerts.>', { callback: (_e, m) => this.dispatch('alert', () => parseAlert(m.data, { subject: m.subject })) }));
    this.subs.push(nc.subscribe('fl.sessions.>', { callback: (_e, m) => this.dispatch('session', () => parseSession(m.data)) }));
    this.heartbeat = setInterval(() => {
      for (const c of this.clients) c.res.write(': ping\n\n');
    }, cfg.sseHeartbeatMs);
    this.heartbeat.unref();
  }

  static async connect(cfg: ApiConfig, log: Logger): Promise<Live> {
    const n = cfg.nats!;
    const pass = readSecret(n.pass, n.passFile, 'nats.passFile');
    const token = readSecret(n.token, n.tokenFile, 'nats.tokenFile');
    try {
      const nc = await connect({
        servers: n.servers,
        name: 'fieldline-api',
        timeout: n.connectTimeoutMs,
        maxReconnectAttempts: -1,
        ...(n.user ? { user: n.user, pass } : {}),
        ...(token ? { token } : {}),
      });
      return new Live(nc, cfg, log, { sseDropped: 0, liveBadMessages: 0 });
    } catch (err) {
      throw new NatsUnavailableError(`nats.servers: cannot connect to ${[n.servers].flat().join(', ')}`, { cause: err });
    }
  }

  get connected(): boolean {
    return !this.nc.isClosed() && !this.nc.isDraining();
  }

  get clientCount(): number {
    return this.clients.size;
  }

  /**
   * Starts an SSE stream on a hijacked response; it ends when the client goes away. `hello` is sent
   * once the server has every subscription the client needs, so nothing published after it is missed.
   */
  async attach(res: ServerResponse, filter: LiveFilter): Promise<void> {
    const client: Client = { res, filter, dropped: 0 };
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    this.clients.add(client);
    res.on('close', () => {
      this.clients.delete(client);
      if (filter.readings) this.updateTelemetrySub();
    });
    if (filter.readings) this.updateTelemetrySub();
    try {
      await this.nc.flush();
    } catch (err) {
      this.log.warn({ err }, 'NATS flush failed; closing live stream');
      res.end();
      return;
    }
    res.write(`retry: 3000\nevent: hello\ndata: ${JSON.stringify({ filter })}\n\n`);
  }

  /** Subscribes to telemetry only while some client wants readings. */
  private updateTelemetrySub(): void {
    const wanted = this.cfg.liveReadings && [...this.clients].some((c) => c.filter.readings);
    if (wanted && !this.telemetrySub) {
      this.telemetrySub = this.nc.subscribe('fl.telemetry.>', { callback: (_e, m) => this.onTelemetry(m.subject, m.data) });
    } else if (!wanted && this.telemetrySub) {
      this.telemetrySub.unsubscribe();
      this.telemetrySub = undefined;
    }
  }

  /** A TELEMETRY message: one envelope or a bundle of one device's (contract bundle.ts), to the clients that want its readings. */
  private onTelemetry(subject: string, data: Uint8Array): void {
    let envelopes;
    try {
      const t = telemetryEnvelopes(data, subject.slice(subject.lastIndexOf('.') + 1));
      this.counters.liveBadMessages += t.errors.length;
      envelopes = t.envelopes;
    } catch {
      this.counters.liveBadMessages++;
      return;
    }
    for (const env of envelopes) if (env && env.readings.length) this.sendReadings(env);
  }

  private sendReadings(env: Envelope): void {
    for (const c of this.clients) {
      if (!c.filter.readings || (c.filter.device && c.filter.device !== env.device)) continue;
      const readings = env.readings
        .filter((r) => !c.filter.sensor || r.sensor === c.filter.sensor)
        .map((r) => ({ sensor: r.sensor, ts: r.ts, value: r.value }));
      if (readings.length) this.send(c, 'readings', JSON.stringify({ device: env.device, readings }));
    }
  }

  private dispatch(event: 'alert' | 'session', parse: () => { device: string; sensor: string }): void {
    let obj: { device: string; sensor: string };
    try {
      obj = parse();
    } catch {
      // Not a contract AlertEvent / SessionSummary: counted, never forwarded.
      this.counters.liveBadMessages++;
      return;
    }
    // Re-serialised, so a payload can never inject SSE framing (newlines) into the stream.
    const data = JSON.stringify(obj);
    for (const c of this.clients) {
      if (c.filter.device && obj.device !== c.filter.device) continue;
      if (c.filter.sensor && obj.sensor !== c.filter.sensor) continue;
      this.send(c, event, data);
    }
  }

  private send(c: Client, event: string, data: string): void {
    if (c.res.writableLength > this.cfg.limits.sseBufferBytes) {
      c.dropped++;
      this.counters.sseDropped++;
      return;
    }
    if (c.dropped > 0) {
      c.res.write(`event: dropped\ndata: ${JSON.stringify({ count: c.dropped })}\n\n`);
      this.log.warn({ dropped: c.dropped }, 'slow SSE client missed events');
      c.dropped = 0;
    }
    c.res.write(`event: ${event}\ndata: ${data}\n\n`);
  }

  /** Publishes a contract `CommandMessage` and waits until the server has it (flush). */
  async command(device: string, msg: CommandMessage): Promise<string> {
    const subject = subjects.commands(device);
    this.nc.publish(subject, commandMessage.encode(msg));
    await this.nc.flush();
    return subject;
  }

  /** Latest status entry per device from the gateway's status KV bucket (contract `DeviceStatusEntry`); empty when absent. */
  async statuses(): Promise<Map<string, DeviceStatusEntry>> {
    const out = new Map<string, DeviceStatusEntry>();
    const bucket = this.cfg.nats!.statusBucket;
    try {
      const kv = await this.nc.jetstream().views.kv(bucket, { bindOnly: true });
      // Keys first: awaiting gets inside the keys iterator ends it early (nats.js 2.29).
      const keys: string[] = [];
      for await (const key of await kv.keys()) if (keys.push(key) >= 10_000) break;
      for (const key of keys) {
        const entry = await kv.get(key);
        if (!entry || entry.operation !== 'PUT') continue;
        try {
          const status = parseStatusEntry(entry.value);
          if (status.device === key) out.set(status.device, status);
        } catch {
          this.counters.liveBadMessages++;
        }
      }
    } catch (err) {
      // Once: without a gateway the bucket does not exist, and /devices is polled.
      if (!this.statusWarned) this.log.warn({ bucket, err }, 'device status unavailable');
      this.statusWarned = true;
    }
    return out;
  }

  async close(): Promise<void> {
    clearInterval(this.heartbeat);
    for (const c of this.clients) c.res.end();
    this.clients.clear();
    for (const s of this.subs) s.unsubscribe();
    await drainOrClose(this.nc, { log: this.log });
  }
}
