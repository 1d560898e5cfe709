import { copyFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { findBinary, ManagedProcess, tempDir } from '@fieldline/runtime/process';
import { freePort, waitFor } from './util.js';

export interface PrometheusOptions {
  /** The scrape config (prometheus.yml text). Rule files it names must be given in `ruleFiles`. */
  config: string;
  /** Rule files copied beside the config (prometheus.yml names them by base name). */
  ruleFiles?: string[];
  /** HTTP port. @default a free loopback port */
  port?: number;
}

/** One target as `/api/v1/targets` reports it. */
export interface PrometheusTarget {
  labels: Record<string, string>;
  scrapeUrl: string;
  health: 'up' | 'down' | 'unknown';
  lastError: string;
}

/** One sample of an instant vector from `/api/v1/query`. */
export interface PrometheusSample {
  metric: Record<string, string>;
  value: [number, string];
}

/**
 * A real Prometheus server (Debian's `prometheus` 2.42) on loopback, with its TSDB in a temp dir:
 * it scrapes what the config lists and answers its HTTP API.
 */
export class PrometheusServer extends ManagedProcess {
  readonly url: string;

  private constructor(readonly port: number, configFile: string, dataDir: string) {
    super({
      name: `prometheus:${port}`,
      command: findBinary('prometheus', 'prometheus'),
      args: [`--config.file=${configFile}`, `--storage.tsdb.path=${join(dataDir, 'tsdb')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
      readyTimeoutMs: 30_000,
      // Ready when *this* Prometheus answers (its config file is ours): /-/ready alone would also
      // pass when another test's server holds the port and this one failed to bind it.
      ready: async () => {
        if ((await fetch(`http://127.0.0.1:${port}/-/ready`).catch(() => null))?.status !== 200) return false;
        const flags = (await (await fetch(`http://127.0.0.1:${port}/api/v1/status/flags`)).json()) as { data?: Record<string, string> };
        return flags.data?.['config.file'] === configFile;
      },
    });
    this.url = `http://127.0.0.1:${port}`;
  }

  static async start(opts: PrometheusOptions): Promise<PrometheusServer> {
    const dir = tempDir('prometheus');
    const configFile = join(dir, 'prometheus.yml');
    writeFileSync(configFile, opts.config);
    for (const f of opts.ruleFiles ?? []) copyFileSync(f, join(dir, basename(f)));
    const server = new PrometheusServer(opts.port ?? (await freePort()), configFile, dir);
    await server.start();
    return server;
  }

  private async api<T>(path: string): Promise<T> {
    const res = await fetch(`${this.url}/api/v1/${path}`);
    const body = (await res.json()) as { status: string; data: T; error?: string };
    if (body.status !== 'success') throw new Error(`Prometheus /api/v1/${path}: ${body.error ?? res.status}`);
    return body.data;
  }

  /** Active scrape targets. */
  async targets(): Promise<PrometheusTarget[]> {
    return (await this.api<{ activeTargets: PrometheusTarget[] }>('targets?state=active')).activeTargets;
  }

  /** Waits until every active target (at least `count`) has been scraped successfully. */
  async waitForTargetsUp(count: number, timeoutMs = 60_000): Promise<PrometheusTarget[]> {
    let last: PrometheusTarget[] = [];
    try {
      return await waitFor(
        async () => {
          last = await this.targets();
          return last.length >= count && last.every((t) => t.health === 'up') ? last : undefined;
        },
        { timeoutMs, intervalMs: 250, what: `${count} Prometheus targets up` },
      );
    } catch (err) {
      throw new Error(`${(err as Error).message}: ${JSON.stringify(last.map((t) => ({ url: t.scrapeUrl, health: t.health, error: t.lastError })))}`, { cause: err });
    }
  }

  /** An instant PromQL query. */
  async query(promql: string): Promise<PrometheusSample[]> {
    const data = await this.api<{ resultType: string; result: PrometheusSample[] }>(`query?query=${encodeURIComponent(promql)}`);
    return data.result;
  }
}
