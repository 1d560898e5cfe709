/**
 * `@fieldline/runtime/metrics`: the standard process metrics every service's `/metrics` carries,
 * registered once here. Unprefixed (`process_cpu_seconds_total`, `nodejs_heap_size_used_bytes`,
 * `nodejs_eventloop_lag_seconds`…), as prom-client names them by default, so the stock Node.js
 * dashboards and alert rules match; the service's own figures are `fieldline_{service}_*` beside
 * them, and the `job`/`instance` labels of the scrape tell the services apart.
 *
 * prom-client exposes three gauges whose names end in `_total` (`nodejs_active_handles_total`,
 * `…_requests_total`, `…_resources_total`); Prometheus reserves that suffix for counters and
 * `promtool check metrics` warns on each. They are left out: their per-type siblings
 * (`nodejs_active_handles{type}` etc.) carry the same figure, `sum(nodejs_active_handles)` is the total.
 */
import { collectDefaultMetrics, type Registry } from 'prom-client';

/** Gauges that prom-client names like counters; see the module comment. */
export const GAUGES_NAMED_LIKE_COUNTERS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'] as const;

/** Registers the standard process metrics on `registry` (one registry per service instance). */
export function collectProcessMetrics<R extends Registry>(registry: R): R {
  collectDefaultMetrics({ register: registry });
  for (const name of GAUGES_NAMED_LIKE_COUNTERS) registry.removeSingleMetric(name);
  return registry;
}
