import { NatsServer } from './nats.js';
import { freePort, waitFor } from './util.js';

export interface NatsClusterOptions {
  /** Nodes. @default 3 */
  nodes?: number;
  /** Cluster name. @default 'fl-test' */
  name?: string;
  /** Out of the terminal's process group (see NatsOptions). @default false */
  ownProcessGroup?: boolean;
}

/**
 * A real JetStream cluster on loopback: `nodes` nats-server processes with routes to each other,
 * each with its own free client, cluster and monitor ports and store dir. A node can be killed
 * (`kill -9`) and restarted on the same ports and store, as a crashed machine would come back.
 */
export class NatsCluster {
  private constructor(
    readonly name: string,
    readonly servers: NatsServer[],
  ) {}

  /** Client URLs of every node (give them all to a client: it fails over between them). */
  get urls(): string[] {
    return this.servers.map((s) => s.url);
  }

  static async start(opts: NatsClusterOptions = {}): Promise<NatsCluster> {
    const nodes = opts.nodes ?? 3;
    const name = opts.name ?? 'fl-test';
    const routePorts = await Promise.all(Array.from({ length: nodes }, () => freePort()));
    const servers = await Promise.all(
      routePorts.map((port, i) =>
        NatsServer.start({
          serverName: `${name}-n${i}`,
          ownProcessGroup: opts.ownProcessGroup,
          extraConfig: [
            'cluster {',
            `  name: "${name}"`,
            `  listen: "127.0.0.1:${port}"`,
            `  routes: [${routePorts.map((p) => `"nats-route://127.0.0.1:${p}"`).join(', ')}]`,
            // Loopback: reconnect routes fast after a node comes back.
            '  connect_retries: 120',
            '}',
          ].join('\n'),
        }),
      ),
    );
    const cluster = new NatsCluster(name, servers);
    await cluster.waitHealthy();
    return cluster;
  }

  /** Until every running node reports JetStream healthy (a meta leader elected, streams current). */
  async waitHealthy(timeoutMs = 30_000): Promise<void> {
    await waitFor(
      async () => {
        for (const s of this.servers) {
          if (!s.running) continue;
          const res = await fetch(`http://127.0.0.1:${s.monitorPort}/healthz`).catch(() => null);
          if (res?.status !== 200) return false;
        }
        return true;
      },
      { timeoutMs, intervalMs: 100, what: `cluster ${this.name} healthy` },
    );
  }

  /** `kill -9` of node `i`. */
  async kill(i: number): Promise<void> {
    await this.servers[i]!.kill();
  }

  /** Starts node `i` again (same ports, same store) and waits for the cluster to be healthy. */
  async restart(i: number): Promise<void> {
    await this.servers[i]!.start();
    await this.waitHealthy();
  }

  async stop(): Promise<void> {
    await Promise.all(this.servers.map((s) => s.stop()));
  }
}
