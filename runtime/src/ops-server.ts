/**
 * The one ops HTTP server of every service: `/metrics` (Prometheus text), `/healthz` (liveness:
 * every check passes) and `/readyz` (readiness: started, not stopping, every check passes), both
 * answering one JSON shape, {@link HealthReport}. Bind it to loopback unless a scraper needs more.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface CheckResult {
  ok: boolean;
  /** Figures or a reason, shown as they are (never secrets). */
  detail?: unknown;
}

export type HealthCheck = () => CheckResult;

/** The JSON of `/healthz` and `/readyz`. */
export interface HealthReport {
  service: string;
  version: string;
  /** `ok` when every check passes. */
  status: 'ok' | 'failing';
  /** Started, not shutting down, and `status` ok. */
  ready: boolean;
  uptime_s: number;
  checks: Record<string, CheckResult>;
}

/** Something with Prometheus text, e.g. a prom-client `Registry`. */
export interface MetricsSource {
  readonly contentType: string;
  metrics(): Promise<string>;
}

export interface HealthOptions {
  service: string;
  version: string;
  checks?: Record<string, HealthCheck>;
}

/** Health of a service: checks run on each request, so the answer is never stale. */
export class Health {
  private readonly started = performance.now();
  private state: 'starting' | 'ready' | 'stopping' = 'starting';

  constructor(private readonly o: HealthOptions) {}

  /** Marks the service started (`/readyz` may turn 200) or stopping (503 from then on). */
  setState(state: 'ready' | 'stopping'): void {
    this.state = state;
  }

  report(): HealthReport {
    const checks: Record<string, CheckResult> = {};
    let ok = true;
    for (const [name, check] of Object.entries(this.o.checks ?? {})) {
      let r: CheckResult;
      try {
        r = check();
      } catch (err) {
        r = { ok: false, detail: (err as Error).message };
      }
      checks[name] = r;
      ok &&= r.ok;
    }
    return {
      service: this.o.service,
      version: this.o.version,
      status: ok ? 'ok' : 'failing',
      ready: ok && this.state === 'ready',
      uptime_s: Math.round((performance.now() - this.started) / 1000),
      checks,
    };
  }
}

export interface OpsServerOptions {
  /** @default '127.0.0.1' */
  host?: string;
  /** 0 picks a free port. */
  port: number;
  health: Health;
  metrics?: MetricsSource;
}

export interface OpsServer {
  readonly port: number;
  readonly server: Server;
  close(): Promise<void>;
}

/** Starts the ops server; resolves once it listens. */
export async function startOpsServer(o: OpsServerOptions): Promise<OpsServer> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end('method not allowed\n');
    } else if (path === '/healthz' || path === '/readyz') {
      const r = o.health.report();
      const up = path === '/healthz' ? r.status === 'ok' : r.ready;
      res.writeHead(up ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(`${JSON.stringify(r)}\n`);
    } else if (path === '/metrics' && o.metrics) {
      o.metrics.metrics().then(
        (text) => res.writeHead(200, { 'content-type': o.metrics!.contentType }).end(text),
        (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${err.message}\n`),
      );
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: try ${o.metrics ? '/metrics, ' : ''}/healthz or /readyz\n`);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    server,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}
