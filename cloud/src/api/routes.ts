/** The `/api/v1` query routes. Query strings are validated by JSON schema before a handler runs. */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { AlertEventSchema, CommandArgsSchema, CommandIdSchema, CommandNameSchema, DeviceStatusEntrySchema, SessionSummarySchema, type CommandMessage } from '@fieldline/contract';
import type { ApiConfig } from './config.js';
import type { Live } from './live.js';
import { ApiError, foldAlerts, idSchema, parseRange, severitySchema, timeSchema } from './params.js';
import { resolveTiers } from '../influx/tiers.js';
import { chooseTier } from './tier-choice.js';
import type { Store } from './store.js';

const DAY = 86_400_000;
const query = (properties: Record<string, unknown>, required: string[] = []) => ({
  type: 'object',
  additionalProperties: false,
  properties,
  required,
});

type Q<T> = { Querystring: T };

// Response schemas: they document the API in /openapi.json and let fastify serialise fast.
const nums = { type: 'array', items: { type: 'number' } } as const;
const int = { type: 'integer' } as const;
const str = { type: 'string' } as const;
const obj = (properties: Record<string, unknown>, required = Object.keys(properties)) => ({ type: 'object', properties, required });
const errorReply = obj({ error: str, message: str });
const errors = { 400: errorReply, 401: errorReply, 502: errorReply, 503: errorReply };
const rangeReply = { from: int, to: int };
/** A contract message schema without its `v` (stored rows do not carry the version). */
function withoutVersion(schema: { properties: Record<string, unknown>; required?: string[]; description?: string }): Record<string, unknown> {
  const { v: _v, ...properties } = schema.properties;
  return { ...obj(properties, (schema.required ?? []).filter((k) => k !== 'v')), ...(schema.description ? { description: schema.description } : {}) };
}
// The wire contract's schemas (one source of truth): an alert transition, a closed session, a status entry.
const alertSchema = withoutVersion(AlertEventSchema);
const sessionSchema = withoutVersion(SessionSummarySchema);
const deviceSchema = obj(
  {
    device: str,
    status: DeviceStatusEntrySchema,
    sensors: { type: 'array', items: obj({ sensor: str, unit: str, last: obj({ ts: { type: 'number' }, value: { type: 'number' } }) }, ['sensor', 'last']) },
  },
  ['device', 'sensors'],
);
interface RangeQ {
  from?: string;
  to?: string;
  device?: string;
  sensor?: string;
  limit?: number;
}

function liveOrFail(live: Live | undefined): Live {
  if (!live?.connected) throw new ApiError(503, 'NATS is not configured or not connected');
  return live;
}

export function registerRoutes(app: FastifyInstance, cfg: ApiConfig, store: Store, live: Live | undefined): void {
  const L = cfg.limits;
  const maxRangeMs = L.maxRangeDays * DAY;
  const lookbackMs = L.alertLookbackDays * DAY;
  const limitSchema = { type: 'integer', minimum: 1, maximum: L.maxRows, default: Math.min(200, L.maxRows) };
  const tiers = resolveTiers(cfg.tiers, cfg.influx);

  const devicesSchema = {
    summary: 'Devices and sensors with their last reading and status',
    tags: ['query'],
    response: { 200: obj({ devices: { type: 'array', items: deviceSchema } }), ...errors },
  };
  app.get('/api/v1/devices', { schema: devicesSchema }, async () => {
    const [last, statuses] = await Promise.all([store.lastReadings(), live?.statuses() ?? new Map()]);
    type DeviceView = { device: string; status?: unknown; sensors: unknown[] };
    const devices = new Map<string, DeviceView>();
    for (const r of last.sort((a, b) => a.device.localeCompare(b.device) || a.sensor.localeCompare(b.sensor))) {
      const d = devices.get(r.device) ?? { device: r.device, sensors: [] };
      d.sensors.push({ sensor: r.sensor, last: { ts: r.ts, value: r.value }, ...(r.unit ? { unit: r.unit } : {}) });
      devices.set(r.device, d);
    }
    for (const [device, status] of statuses) {
      const d: DeviceView = devices.get(device) ?? { device, sensors: [] };
      d.status = status;
      devices.set(device, d);
    }
    return { devices: [...devices.values()] };
  });

  app.get<Q<{ device: string; sensor: string; from?: string; to?: string; points?: number }>>(
    '/api/v1/series',
    {
      schema: {
        summary: "A sensor's series, downsampled server-side to at most `points` buckets (mean/min/max), from the raw readings or a rollup tier (`tier`)",
        description:
          'Short ranges are read from the raw readings, long ones from the coarsest rollup tier whose window fits a bucket (and whose retention holds the range): ' +
          'then buckets are whole windows aligned to the tier, mean is weighted by count, min is the min of mins, max the max of maxes; ' +
          'the newest two windows of the tier (not all written yet) are read from the raw readings (`rawFrom`) and combined into the same buckets.',
        tags: ['query'],
        querystring: query(
          {
            device: idSchema,
            sensor: idSchema,
            from: timeSchema,
            to: timeSchema,
            points: { type: 'integer', minimum: 2, maximum: L.maxPoints, default: Math.min(L.defaultPoints, L.maxPoints) },
          },
          ['device', 'sensor'],
        ),
        response: {
          200: (() => {
            const properties = { device: str, sensor: str, ...rangeReply, tier: { type: 'string', description: '`raw` or the rollup tier that answered (e.g. `1m`, `1h`)' }, rawFrom: { type: 'integer', description: 'with a rollup tier: from this time on the raw readings answered (the newest windows are not written yet)' }, bucketMs: int, points: int, time: { type: 'array', items: int }, mean: nums, min: nums, max: nums };
            // `rawFrom` only when a rollup tier answered and the range reaches its newest windows.
            return obj(properties, Object.keys(properties).filter((k) => k !== 'rawFrom'));
          })(),
          ...errors,
        },
      },
    },
    async (req) => {
      const { device, sensor, points = L.defaultPoints } = req.query;
      const { from, to } = parseRange(req.query, maxRangeMs, DAY);
      const now = Date.now();
      const c = chooseTier(tiers, from, to, points, now);
      // The tier's current and previous windows may not be written yet (a window is, once its
      // device's event time passed its end): from their start on, the raw readings answer.
      const rawFrom = c.tier && Math.floor(now / c.tier.everyMs) * c.tier.everyMs - c.tier.everyMs;
      const src = c.tier && { database: cfg.influx.database, retentionPolicy: c.tier.retentionPolicy, bucket: c.tier.bucket, measurement: c.tier.measurement, rawFrom: rawFrom! };
      const series = await store.series({ device, sensor, from: c.from, to, bucketMs: c.bucketMs, offsetMs: c.offsetMs }, src);
      const tail = rawFrom !== undefined && rawFrom < to ? { rawFrom: Math.max(rawFrom, c.from) } : {};
      return { device, sensor, from, to, tier: c.name, ...tail, bucketMs: c.bucketMs, points: series.time.length, ...series };
    },
  );

  app.get<Q<RangeQ>>(
    '/api/v1/sessions',
    {
      schema: {
        summary: 'Closed session windows overlapping [from, to), newest first',
        tags: ['query'],
        querystring: query({ device: idSchema, sensor: idSchema, from: timeSchema, to: timeSchema, limit: limitSchema }),
        response: { 200: obj({ ...rangeReply, sessions: { type: 'array', items: sessionSchema } }), ...errors },
      },
    },
    async (req) => {
      const { device, sensor, limit = 200 } = req.query;
      const { from, to } = parseRange(req.query, maxRangeMs, DAY);
      const sessions = await store.sessions({ device, sensor }, from - lookbackMs, from, to, limit);
      return { from, to, sessions };
    },
  );

  app.get<Q<RangeQ & { rule?: string; severity?: string; state?: 'firing' | 'resolved' }>>(
    '/api/v1/alerts',
    {
      schema: {
        summary: 'Alerts overlapping [from, to) with their current state, newest first',
        tags: ['query'],
        querystring: query({
          device: idSchema,
          sensor: idSchema,
          rule: idSchema,
          severity: severitySchema,
          state: { type: 'string', enum: ['firing', 'resolved'] },
          from: timeSchema,
          to: timeSchema,
          limit: limitSchema,
        }),
        response: { 200: obj({ ...rangeReply, alerts: { type: 'array', items: alertSchema } }), ...errors },
      },
    },
    async (req) => {
      const { device, sensor, rule, severity, state, limit = 200 } = req.query;
      const { from, to } = parseRange(req.query, maxRangeMs, DAY);
      // Two rows per alert at most, plus redeliveries: read a generous multiple, then fold.
      const rows = await store.alertRows({ device, sensor, rule, severity }, from - lookbackMs, to, L.maxRows * 4);
      const alerts = foldAlerts(rows, from, to).filter((a) => !state || a.state === state);
      return { from, to, alerts: alerts.slice(0, limit) };
    },
  );

  app.get<Q<{ device?: string; sensor?: string; readings?: boolean }>>(
    '/api/v1/live',
    {
      schema: {
        summary: 'Server-Sent Events: `alert`, `session` and (with readings=true) `readings`, from NATS',
        tags: ['live'],
        querystring: query({ device: idSchema, sensor: idSchema, readings: { type: 'boolean', default: false } }),
      },
    },
    async (req, reply) => {
      const l = liveOrFail(live);
      if (l.clientCount >= L.sseClients) throw new ApiError(503, `too many live clients (limits.sseClients = ${L.sseClients})`);
      reply.hijack();
      await l.attach(reply.raw, { device: req.query.device, sensor: req.query.sensor, readings: req.query.readings ?? false });
    },
  );

  app.post<{ Params: { device: string }; Body: { name: string; args?: Record<string, unknown>; id?: string } }>(
    '/api/v1/devices/:device/commands',
    {
      bodyLimit: 64 * 1024,
      schema: {
        summary: 'Send a command to a device (a contract CommandMessage on fl.commands.{device})',
        tags: ['commands'],
        params: { type: 'object', properties: { device: idSchema }, required: ['device'] },
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['name'],
          // The contract's CommandMessage fields; the API adds `v` and a default id.
          properties: { name: CommandNameSchema, args: CommandArgsSchema, id: CommandIdSchema },
        },
        response: { 202: obj({ id: str, subject: str }), ...errors },
      },
    },
    async (req, reply) => {
      const l = liveOrFail(live);
      const msg: CommandMessage = { v: 1, id: req.body.id ?? randomUUID(), name: req.body.name, ...(req.body.args ? { args: req.body.args } : {}) };
      const subject = await l.command(req.params.device, msg);
      req.log.info({ device: req.params.device, command: msg.name, id: msg.id }, 'command published');
      reply.code(202);
      return { id: msg.id, subject };
    },
  );
}
