/**
 * The network between edge and gateway, made to misbehave: a TCP proxy on loopback.
 * - `pass`: forwards both ways;
 * - `offline`: every connection is cut and new ones are closed at once (the edge is offline);
 * - `stall`: connections stay open but nothing is forwarded either way (a dead link TCP does not see);
 * - `half-open`: device -> gateway still flows, gateway -> device is swallowed (PUBACKs never arrive);
 * `drop()` resets every open connection once (RST), whatever the mode.
 */
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';

export type ProxyMode = 'pass' | 'offline' | 'stall' | 'half-open';

interface Pair {
  client: Socket;
  upstream: Socket;
}

export class FaultProxy {
  private mode: ProxyMode = 'pass';
  private readonly pairs = new Set<Pair>();
  /** Connections accepted, and cut by `offline` or `drop()`. */
  readonly counts = { accepted: 0, cut: 0 };

  private constructor(
    private readonly server: Server,
    readonly port: number,
    private readonly target: { host: string; port: number },
  ) {}

  static async start(targetPort: number, host = '127.0.0.1'): Promise<FaultProxy> {
    let proxy: FaultProxy | undefined;
    const server = createServer((client) => proxy!.accept(client));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    proxy = new FaultProxy(server, (server.address() as AddressInfo).port, { host, port: targetPort });
    return proxy;
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  get current(): ProxyMode {
    return this.mode;
  }

  private accept(client: Socket): void {
    client.on('error', () => undefined);
    if (this.mode === 'offline') {
      this.counts.cut++;
      client.resetAndDestroy();
      return;
    }
    this.counts.accepted++;
    const upstream = connect(this.target.port, this.target.host);
    upstream.on('error', () => undefined);
    const pair: Pair = { client, upstream };
    this.pairs.add(pair);
    const forward = (from: Socket, to: Socket, toGateway: boolean): void => {
      from.on('data', (chunk: Buffer) => {
        if (this.mode === 'stall' || (this.mode === 'half-open' && !toGateway)) return; // swallowed
        to.write(chunk);
      });
    };
    forward(client, upstream, true);
    forward(upstream, client, false);
    const end = (): void => {
      this.pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.once('close', end);
    upstream.once('close', end);
  }

  /** Changes the mode; `offline` also cuts every open connection. */
  set(mode: ProxyMode): void {
    this.mode = mode;
    if (mode === 'offline') this.drop();
  }

  /** Resets every open connection (both sides see a connection reset). */
  drop(): void {
    for (const p of this.pairs) {
      this.counts.cut++;
      p.client.resetAndDestroy();
      p.upstream.resetAndDestroy();
    }
    this.pairs.clear();
  }

  async close(): Promise<void> {
    this.drop();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
