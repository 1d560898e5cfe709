/** Query API + dashboard: fastify with JSON-schema validation, OpenAPI at `/openapi.json`. */
import swagger from '@fastify/swagger';
import { X_EXPECT, X_ID, X_REASON } from '@fieldline/contract';
import { createLogger, Health, packageVersion, startOpsServer, type OpsServer } from '@fieldline/runtime';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifySchemaValidationError } from 'fastify';
import type { Logger } from 'pino';
import { registerAuth, TokenSet } from './auth.js';
import { resolveTokens, type ApiConfig } from './config.js';
import { Limiter, limitedStore } from './limiter.js';
import { Live } from './live.js';
import { apiMetrics } from './metrics.js';
import { ApiError } from './params.js';
import { registerRoutes } from './routes.js';
import { registerDashboard } from './static.js';
import { openStore, StoreError } from './store.js';

export { loadApiConfig, apiConfigSchema, ApiConfigError, type ApiConfig, type ApiConfigInput } from './config.js';
export { NatsUnavailableError } from './live.js';
export { StoreError } from './store.js';

export interface ApiHandle {
  url: string;
  port: number;
  /** Ops server port (`/metrics`, `/healthz`, `/readyz`), unless `ops: null`. */
  opsPort?: number;
  health: Health;
  close(): Promise<void>;
}

const WHERE: Record<string, string> = { querystring: 'query parameter', params: 'path parameter', body: 'body field', headers: 'header' };

/** "query parameter \"points\": must be <= 5000" -- names the parameter, as issue 7 asks. */
function formatSchemaErrors(errors: FastifySchemaValidationError[], dataVar: string): Error {
  const e = errors[0]!;
  const p = e.params as { missingProperty?: string; additionalProperty?: string };
  const name = p.missingProperty ?? p.additionalProperty ?? e.instancePath.replace(/^\//, '').replace(/\//g, '.');
  const msg = p.additionalProperty ? 'is not a known parameter' : p.missingProperty ? 'is required' : e.message;
  return new Error(name ? `${WHERE[dataVar] ?? dataVar} "${name}": ${msg}` : `${WHERE[dataVar] ?? dataVar}: ${msg}`);
}

/**
 * Starts the query API and dashboard. Fails fast (typed errors naming the key) when no token is
 * configured, InfluxDB cannot be reached for version detection, or NATS is configured but down.
 */
export async function startApi(config: ApiConfig, opts: { logger?: Logger } = {}): Promise<ApiHandle> {
  const log = opts.logger ?? createLogger({ service: 'api', level: config.logLevel });
  const tokens = new TokenSet(resolveTokens(config.auth));
  const limiter = new Limiter(config.limits.influxConcurrency, config.limits.influxQueue);
  const store = limitedStore(await openStore(config.influx, { seriesParallel: config.limits.seriesParallel }), limiter);
  const live = config.nats ? await Live.connect(config, log) : undefined;
  const counters = { badRequests: 0, unauthorized: 0, influxErrors: 0 };
  const health = new Health({
    service: 'api',
    version: packageVersion(import.meta.url),
    checks: {
      influx: () => ({ ok: true, detail: { api: store.api, busyRefused: limiter.rejected, errors: counters.influxErrors } }),
      nats: () => ({ ok: !live || live.connected, detail: live ? { state: live.connected ? 'connected' : 'disconnected', liveClients: live.clientCount, ...live.counters } : 'off' }),
      requests: () => ({ ok: true, detail: { badRequests: counters.badRequests, unauthorized: counters.unauthorized } }),
    },
  });
  let ops: OpsServer | undefined;

  const app = Fastify({
    loggerInstance: log as FastifyBaseLogger,
    // Per-request lines only at debug: at info they would drown the rest.
    logController: new LogController({ disableRequestLogging: config.logLevel !== 'debug' && config.logLevel !== 'trace' }),
    bodyLimit: 64 * 1024,
    // The contract's schemas (alerts, sessions, status, commands) carry `x-` annotations.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: true, keywords: [X_REASON, X_EXPECT, X_ID] } },
    schemaErrorFormatter: formatSchemaErrors,
  });
  try {
    await app.register(swagger, {
      openapi: {
        info: { title: 'fieldline query API', version: '1.0.0', description: 'Readings, sessions and alerts from InfluxDB; live updates from NATS.' },
        components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
        security: [{ bearer: [] }],
      },
    });

    app.setErrorHandler((err: FastifyError | ApiError | StoreError, req, reply) => {
      if (err instanceof StoreError) {
        counters.influxErrors++;
        req.log.error({ err }, 'InfluxDB query failed');
        return reply.code(502).send({ error: 'influx_error', message: err.message });
      }
      const status = err.statusCode ?? 500;
      if (status === 503) {
        req.log.warn({ err }, 'refused: unavailable or busy');
        return reply.code(503).send({ error: 'unavailable', message: err.message });
      }
      if (status >= 500) {
        req.log.error({ err }, 'request failed');
        return reply.code(status).send({ error: 'internal', message: 'internal error' });
      }
      if (status === 400) counters.badRequests++;
      return reply.code(status).send({ error: status === 401 ? 'unauthorized' : 'bad_request', message: err.message });
    });

    registerAuth(app, tokens, counters);
    registerRoutes(app, config, store, live);
    registerDashboard(app);
    // The ops server's answers, also here for load balancers that probe the API's own port.
    app.get('/healthz', { schema: { summary: 'Liveness: the ops HealthReport (no token needed)', tags: ['ops'] } }, async (_req, reply) => {
      const r = health.report();
      return reply.code(r.status === 'ok' ? 200 : 503).send(r);
    });
    app.get('/readyz', { schema: { summary: 'Readiness: the ops HealthReport (no token needed)', tags: ['ops'] } }, async (_req, reply) => {
      const r = health.report();
      return reply.code(r.ready ? 200 : 503).send(r);
    });
    app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

    await app.listen({ host: config.host, port: config.port });
    if (config.ops) ops = await startOpsServer({ host: config.ops.host, port: config.ops.port, health, metrics: apiMetrics(health) });
  } catch (err) {
    await app.close().catch(() => undefined);
    await live?.close();
    throw err;
  }
  health.setState('ready');
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  log.info({ port, influx: store.api, nats: Boolean(live), opsPort: ops?.port }, 'query API listening');
  return {
    url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`,
    port,
    ...(ops ? { opsPort: ops.port } : {}),
    health,
    async close() {
      health.setState('stopping');
      await ops?.close();
      await live?.close();
      await app.close();
    },
  };
}

