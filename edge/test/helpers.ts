import { createServer, type Server } from 'node:net';
import { Aedes } from 'aedes';
import pino from 'pino';
import { parseEnvelope, type Envelope } from '@fieldline/contract';
import { freePort, tempDir } from '@fieldline/harness';
import { loadEdgeConfig, type EdgeConfig } from '../src/index.js';

/** A plain in-process aedes broker on a free loopback port that records every telemetry envelope. */
export class TestBroker {
  readonly envelopes: Envelope[] = [];
  readonly statuses: string[] = [];
  /** Set to true to hold back PUBACKs (broker accepts but never acknowledges: an outage mid-flight). */
  private server: Server | undefined;
  private constructor(
    readonly broker: Aedes,
    readonly port: number,
  ) {
    broker.on('publish', (packet) => {
      if (packet.topic.endsWith('/telemetry')) this.envelopes.push(parseEnvelope(packet.payload as Buffer));
      if (packet.topic.endsWith('/status')) this.statuses.push(packet.payload.toString());
    });
  }

  static async start(port?: number): Promise<TestBroker> {
    const b = new TestBroker(await Aedes.createBroker(), port ?? (await freePort()));
    await b.listen();
    return b;
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  async listen(): Promise<void> {
    const server = createServer(this.broker.handle);
    this.server = server;
    await new Promise<void>((r) => server.listen(this.port, '127.0.0.1', () => r()));
  }

  /** Stops accepting and drops every client (the uplink goes away); `listen()` brings it back. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    const closed = new Promise<void>((r) => server.close(() => r()));
    for (const c of Object.values((this.broker as unknown as { clients: Record<string, { conn: { destroy(): void } }> }).clients)) c.conn.destroy();
    await closed;
  }

  async close(): Promise<void> {
    await this.stop();
    await new Promise<void>((r) => this.broker.close(() => r()));
  }

  /** Readings received, de-duplicated by batch id (retries may deliver a batch twice). */
  readings(): Envelope['readings'] {
    const seen = new Set<string>();
    const out: Envelope['readings'] = [];
    for (const e of this.envelopes) {
      const id = `${e.epoch}:${e.seq}`;
      if (seen.has(id) || e.readings.length === 0) continue;
      seen.add(id);
      out.push(...e.readings);
    }
    return out;
  }
}

export const quietLogger = (): pino.Logger => pino({ level: process.env.EDGE_TEST_LOG ?? 'silent' });

/** A validated config with a temp state dir and fast timings for tests. */
export function testConfig(brokerUrl: string, overrides: Record<string, unknown> = {}): EdgeConfig {
  return loadEdgeConfig({
    device: 'dev-1',
    stateDir: tempDir('edge-state'),
    mqtt: { url: brokerUrl, reconnect: { minMs: 50, maxMs: 500 } },
    batching: { maxReadings: 50, maxDelayMs: 50 },
    heartbeat: { intervalMs: 0 },
    clock: { assumeSynced: true },
    ...overrides,
  });
}
