import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findBinary, ManagedProcess, tempDir } from '@fieldline/runtime/process';
import { freePort, startOnFreePorts } from './util.js';

export interface InfluxOptions {
  /** HTTP port. @default a free loopback port */
  port?: number;
  /** Data dir (meta, data, wal). @default a temp dir removed at cleanup */
  dataDir?: string;
  /** Out of the terminal's process group (ManagedProcessOptions.ownProcessGroup). @default false */
  ownProcessGroup?: boolean;
  /** More `[data]` settings, as TOML values (e.g. `{ 'compact-full-write-cold-duration': '"1m"' }`). */
  data?: Record<string, string>;
}

/** InfluxQL result as InfluxDB 1.x returns it from `/query`. */
export interface InfluxSeries {
  name: string;
  tags?: Record<string, string>;
  columns: string[];
  values: unknown[][];
}

/**
 * A real influxd (Debian's 1.6.7: v1 HTTP API only) on loopback with a generated config.
 * Auth is off: it listens on 127.0.0.1 only and lives for one test run.
 */
export class InfluxServer extends ManagedProcess {
  readonly url: string;

  private constructor(
    readonly port: number,
    readonly dataDir: string,
    configFile: string,
    ownProcessGroup: boolean,
  ) {
    super({
      name: `influxd:${port}`,
      ownProcessGroup,
      command: findBinary('influxd', 'influxdb'),
      args: ['-config', configFile],
      readyTimeoutMs: 30_000,
      // Ready when *this* influxd answers: a /ping alone would also pass when another test's influxd
      // holds the port (this one then fails to bind), and the test would talk to the wrong server.
      ready: async () => {
        const res = await fetch(`http://127.0.0.1:${port}/debug/vars`).catch(() => null);
        const vars = res?.status === 200 ? ((await res.json()) as { cmdline?: string[] }) : null;
        return vars?.cmdline?.includes(configFile) === true;
      },
    });
    this.url = `http://127.0.0.1:${port}`;
  }

  static async start(opts: InfluxOptions = {}): Promise<InfluxServer> {
    // Two ports (HTTP and RPC), either of which another process can take before influxd binds it.
    return startOnFreePorts(opts.port, () => InfluxServer.startOnce(opts));
  }

  private static async startOnce(opts: InfluxOptions): Promise<InfluxServer> {
    const dataDir = opts.dataDir ?? tempDir('influx');
    const port = opts.port ?? (await freePort());
    const configFile = join(dataDir, 'influxdb.conf');
    writeFileSync(configFile, influxConfig(dataDir, port, await freePort(), opts.data));
    const server = new InfluxServer(port, dataDir, configFile, opts.ownProcessGroup ?? false);
    await server.start();
    return server;
  }

  /** Runs InfluxQL over the HTTP API (POST /query) and returns the first statement's series. */
  async query(q: string, db?: string): Promise<InfluxSeries[]> {
    const body = new URLSearchParams({ q, epoch: 'ms' });
    if (db) body.set('db', db);
    const res = await fetch(`${this.url}/query`, { method: 'POST', body });
    const json = (await res.json()) as { results?: { series?: InfluxSeries[]; error?: string }[]; error?: string };
    const err = json.error ?? json.results?.[0]?.error;
    if (!res.ok || err) throw new Error(`InfluxDB query failed (${res.status}): ${err ?? 'unknown error'}: ${q}`);
    return json.results?.[0]?.series ?? [];
  }

  async createDatabase(db: string): Promise<void> {
    await this.query(`CREATE DATABASE "${db.replace(/["\\]/g, '\\$&')}"`);
  }
}

function influxConfig(dataDir: string, port: number, rpcPort: number, data: Record<string, string> = {}): string {
  return `reporting-disabled = true
bind-address = "127.0.0.1:${rpcPort}"
[meta]
  dir = "${join(dataDir, 'meta')}"
[data]
  dir = "${join(dataDir, 'data')}"
  wal-dir = "${join(dataDir, 'wal')}"
  query-log-enabled = false
${Object.entries(data).map(([k, v]) => `  ${k} = ${v}\n`).join('')}[http]
  enabled = true
  bind-address = "127.0.0.1:${port}"
  log-enabled = false
[monitor]
  store-enabled = false
[continuous_queries]
  enabled = false
[subscriber]
  enabled = false
`;
}
