/** The `/api/v1` query routes. Query strings are validated by JSON schema before a handler runs. */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { CommandMessage } from '@fieldline/contract';
import type { ApiConfig } from './config.js';
import type { Live } from './live.js';
import { ApiError, foldAlerts, idSchema, parseRange, severitySchema, timeSchema } from './params.js';
import { bucketing } from './query-text.js';
import type { Store } from './store.js';

const DAY = 86_400_000;
const query = (properties: Record<string, unknown>, required: string[] = []) => ({
  type: 'object',
  additionalProperties: false,
  properties,
  required,
});

type Q<T> = { Querystring: T };
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

  app.get('/api/v1/devices', { schema: { summary: 'Devices and sensors with their last reading and status', tags: ['query'] } }, async () => {
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
        summary: "A sensor's series, downsampled server-side to at most `points` buckets (mean/min/max)",
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
      },
    },
    async (req) => {
      const { device, sensor, points = L.defaultPoints } = req.query;
      const { from, to } = parseRange(req.query, maxRangeMs, DAY);
      const b = bucketing(from, to, points);
      const series = await store.series({ device, sensor, from, to, ...b });
      return { device, sensor, from, to, bucketMs: b.bucketMs, points: series.time.length, ...series };
    },
  );

  app.get<Q<RangeQ>>(
    '/api/v1/sessions',
    {
      schema: {
        summary: 'Closed session windows overlapping [from, to), newest first',
        tags: ['query'],
        querystring: query({ device: idSchema, sensor: idSchema, from: timeSchema, to: timeSchema, limit: limitSchema }),
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
      l.attach(reply.raw, { device: req.query.device, sensor: req.query.sensor, readings: req.query.readings ?? false });
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
          properties: {
            name: { ...idSchema, not: { const: 'rejected' }, description: '`rejected` is reserved for the gateway' },
            args: { type: 'object' },
            id: { type: 'string', pattern: '^[A-Za-z0-9_.:-]{1,128}$' },
          },
        },
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
