import type { Health } from '@fieldline/runtime';
import { collectProcessMetrics } from '@fieldline/runtime/metrics';
import { Gauge, Registry } from 'prom-client';

/**
 * The API's `/metrics`: the standard process metrics (unprefixed), plus every numeric figure of its health checks as a
 * gauge `fieldline_api_{check}_{figure}` (read on each scrape, so they never go stale).
 */
export function apiMetrics(health: Health): Registry {
  const registry = collectProcessMetrics(new Registry());
  new Gauge({
    name: 'fieldline_api_health_figure',
    help: 'Numeric figures of the API health checks (influx errors, refused queries, SSE drops, bad live messages, requests refused)',
    labelNames: ['check', 'figure'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [check, r] of Object.entries(health.report().checks)) {
        this.set({ check, figure: 'ok' }, r.ok ? 1 : 0);
        if (r.detail && typeof r.detail === 'object') {
          for (const [figure, v] of Object.entries(r.detail)) if (typeof v === 'number') this.set({ check, figure }, v);
        }
      }
    },
  });
  return registry;
}
