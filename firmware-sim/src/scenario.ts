import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ID_PATTERN } from '@fieldline/contract';
import { loadConfig, type ConfigSource } from '@fieldline/runtime';
import { z } from 'zod';
import { parseDuration } from './duration.js';
import { ScenarioError } from './errors.js';

export const PROTOCOLS = ['text-kv', 'csv', 'jsonl', 'nmea', 'modbus'] as const;
export type Protocol = (typeof PROTOCOLS)[number];
export const SIGNAL_MODELS = ['temperature', 'humidity', 'pressure', 'vibration', 'co2', 'power', 'replay'] as const;
export type SignalModel = (typeof SIGNAL_MODELS)[number];
export const ANOMALY_KINDS = ['spike', 'level_shift', 'drift', 'stuck', 'noise_burst', 'dropout'] as const;
export type AnomalyKind = (typeof ANOMALY_KINDS)[number];
export const FAULT_KINDS = ['garbage', 'truncated', 'overlong', 'bad_checksum', 'unplug'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

const id = z.string().regex(ID_PATTERN, 'must match [a-z0-9][a-z0-9_-]{0,62}');
/** Durations: `"90s"`, `"5m"`, `"250ms"`, `"1h"`, `"1d"`, or a number of seconds. Parsed to ms. */
const duration = z.union([z.number(), z.string()]).transform((v, ctx) => {
  const ms = parseDuration(v);
  if (ms === null) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: `expected a duration like "90s", "5m", "250ms" or seconds, got ${JSON.stringify(v)}` });
    return z.NEVER;
  }
  return ms;
});
/** Epoch ms or an ISO 8601 date-time. */
const instant = z.union([z.number().int().nonnegative(), z.string()]).transform((v, ctx) => {
  const ms = typeof v === 'number' ? v : Date.parse(v);
  if (!Number.isFinite(ms)) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: `expected epoch ms or an ISO date-time, got ${JSON.stringify(v)}` });
    return z.NEVER;
  }
  return ms;
});

const channelSchema = z
  .object({
    /** Channel name on the wire; the edge maps it to a sensor id (same name by default). */
    name: id,
    model: z.enum(SIGNAL_MODELS),
    /** Unit reported by the pure generator. @default per model (C, %, hPa, mm/s, ppm, W) */
    unit: z.string().max(32).optional(),
    /** Mean value. @default per model */
    level: z.number().optional(),
    /** Linear drift per hour of virtual time. @default 0 */
    drift: z.number().default(0),
    /** Amplitude of the daily (24 h) cycle. @default per model */
    dailyAmplitude: z.number().optional(),
    /** Hour of day (UTC) of the daily maximum. @default 14 */
    dailyPeakHour: z.number().min(0).max(24).default(14),
    /** Standard deviation of the Gaussian noise. @default per model */
    noise: z.number().nonnegative().optional(),
    /** Quantisation step (values are rounded to it, and printed with its decimals). @default per model */
    quantum: z.number().positive().optional(),
    /** Physical limits the value is clipped to. @default per model */
    min: z.number().optional(),
    max: z.number().optional(),
    /** Modbus register type: float32 (2 registers, ABCD) or int16 (1 register, value × scale). @default float32 */
    register: z.enum(['float32', 'int16']).default('float32'),
    /** int16 registers hold round(value × scale). @default 1 */
    scale: z.number().positive().default(1),
    /** NMEA XDR transducer type and unit. @default C/C for temperature, H/P for humidity, else G/"" */
    nmeaType: z.enum(['C', 'H', 'P', 'G']).optional(),
    nmeaUnit: z.string().regex(/^[A-Z]?$/).optional(),
    /** Replay: a `timestamp,value` CSV (NAB format), relative to the scenario file. */
    file: z.string().optional(),
    /** Replay speed-up: file time / wall time. @default 1 */
    speed: z.number().positive().default(1),
  })
  .strict();

const anomalySchema = z
  .object({
    kind: z.enum(ANOMALY_KINDS),
    /** Channel affected; omitted = every channel of the board. */
    channel: id.optional(),
    /** Start, as an offset from the scenario start. */
    at: duration,
    /** Length of the labelled interval [start, start + duration). */
    duration,
    /** Added value (spike, level_shift, final drift offset) or noise std (noise_burst). */
    magnitude: z.number().optional(),
    /** Repeat: `count` occurrences, one every `every` from `at` (a ground-truth record each). */
    every: duration.optional(),
    /** @default 1 */
    count: z.number().int().min(1).max(100_000).default(1),
  })
  .strict();

const faultSchema = z
  .object({
    kind: z.enum(FAULT_KINDS),
    /** Chance per frame (garbage, truncated, overlong, bad_checksum). @default 0.01 */
    probability: z.number().min(0).max(1).default(0.01),
    /** unplug: first time the cable is pulled (offset from the simulation start, wall time). */
    at: duration.optional(),
    /** unplug: how long the port stays gone. @default 3s */
    duration: duration.default('3s'),
    /** unplug: repeat period; omitted = once. */
    every: duration.optional(),
  })
  .strict();

const clockSchema = z
  .object({
    /** No RTC: the board clock starts at 1970 (uptime) and is set right after `syncAfter`. */
    bootAt1970: z.object({ syncAfter: duration }).strict().optional(),
    /** The board clock jumps back by `by` at `at` and is corrected `correctedAfter` later. */
    jumpBack: z.object({ at: duration, by: duration, correctedAfter: duration }).strict().optional(),
    /** The board clock jumps ahead by `by` (e.g. `27700d`, about 76 years) at `at` and is corrected `correctedAfter` later. */
    jumpAhead: z.object({ at: duration, by: duration, correctedAfter: duration }).strict().optional(),
  })
  .strict();

const boardSchema = z
  .object({
    id,
    protocol: z.enum(PROTOCOLS),
    /** Serial speed (8N1). @default 115200 */
    baud: z.number().int().positive().default(115_200),
    /** Samples per second, 0.1..100. @default 1 */
    hz: z.number().min(0.001).max(100).default(1),
    /** Put the board clock (`ts`) in each frame (text-kv, csv, jsonl). @default false; forced on for replay */
    timestamps: z.boolean().default(false),
    /** Modbus slave id. @default 1 */
    unitId: z.number().int().min(1).max(247).default(1),
    /** NMEA talker id. @default WI */
    talker: z.string().regex(/^[A-Z]{2}$/).default('WI'),
    /** The edge's frame limit, used to build over-long lines. @default 512 */
    maxFrameBytes: z.number().int().positive().default(512),
    clock: clockSchema.default({}),
    channels: z.array(channelSchema).min(1),
    anomalies: z.array(anomalySchema).default([]),
    faults: z.array(faultSchema).default([]),
  })
  .strict();

const deviceSchema = z
  .object({
    id,
    /** Copies of this device, named `{id}-001`, `{id}-002`… (load scenarios). @default 1 */
    count: z.number().int().min(1).max(10_000).default(1),
    boards: z.array(boardSchema).min(1),
  })
  .strict();

/** Defaults for `fieldline-sim fleet` (MQTT load without ptys). */
const fleetSchema = z
  .object({
    /** Simulated edge devices (MQTT connections). @default 100 */
    devices: z.number().int().min(1).default(100),
    /** Device id prefix: `{prefix}-{n}`. @default fleet */
    prefix: id.default('fleet'),
    /** Total readings per second over all devices; 0 = as fast as acks allow. @default 10000 */
    rate: z.number().nonnegative().default(10_000),
    /** Readings per envelope. @default 1 */
    readingsPerEnvelope: z.number().int().min(1).max(5000).default(1),
    /** Run time. @default 30s */
    duration: duration.default('30s'),
    /** Unacknowledged QoS 1 publishes per connection. @default 64 */
    maxInflight: z.number().int().min(1).max(65_535).default(64),
  })
  .strict();

const baseSchema = z
  .object({
    name: id,
    description: z.string().optional(),
    /** Virtual clock start (epoch ms or ISO). @default 2025-01-01T00:00:00Z */
    start: instant.default('2025-01-01T00:00:00Z'),
    /** Virtual length; omitted = run until stopped. */
    duration: duration.optional(),
    devices: z.array(deviceSchema).min(1),
    fleet: fleetSchema.optional(),
  })
  .strict();
type Out = z.output<typeof baseSchema>;
const scenarioSchema = baseSchema.superRefine(checkScenario);

export type Scenario = Out & { /** Dir replay files are resolved against. */ baseDir: string };
export type Device = Scenario['devices'][number];
export type Board = Device['boards'][number];
export type Channel = Board['channels'][number];
export type Anomaly = Board['anomalies'][number];
export type Fault = Board['faults'][number];
export type FleetDefaults = NonNullable<Out['fleet']>;
/** What users write (durations as strings, defaults omitted). */
export type ScenarioInput = z.input<typeof baseSchema>;

const LINE_PROTOCOLS: readonly Protocol[] = ['text-kv', 'csv', 'jsonl', 'nmea'];

function checkScenario(s: Out, ctx: z.RefinementCtx): void {
  const issue = (path: (string | number)[], message: string): void => ctx.addIssue({ code: z.ZodIssueCode.custom, path, message });
  const devices = new Set<string>();
  s.devices.forEach((d, di) => {
    if (devices.has(d.id)) issue(['devices', di, 'id'], `duplicate device id "${d.id}"`);
    devices.add(d.id);
    const boards = new Set<string>();
    const sensors = new Set<string>();
    d.boards.forEach((b, bi) => {
      const at = ['devices', di, 'boards', bi];
      if (boards.has(b.id)) issue([...at, 'id'], `duplicate board id "${b.id}" in device "${d.id}"`);
      boards.add(b.id);
      const names = new Set<string>();
      b.channels.forEach((c, ci) => {
        if (sensors.has(c.name)) issue([...at, 'channels', ci, 'name'], `channel "${c.name}" is used twice in device "${d.id}" (it becomes the sensor id)`);
        sensors.add(c.name);
        names.add(c.name);
        if (c.model === 'replay' && !c.file) issue([...at, 'channels', ci, 'file'], 'required for model replay');
        if (c.model !== 'replay' && c.file) issue([...at, 'channels', ci, 'file'], 'only allowed for model replay');
      });
      const replay = b.channels.some((c) => c.model === 'replay');
      if (replay && b.channels.length > 1) issue([...at, 'channels'], 'a replay board has exactly one channel');
      if (replay && (b.protocol === 'nmea' || b.protocol === 'modbus')) issue([...at, 'protocol'], 'replay needs a protocol that carries timestamps (text-kv, csv, jsonl)');
      if (replay && b.anomalies.length > 0) issue([...at, 'anomalies'], 'not allowed on a replay board (the file has its own)');
      if (b.timestamps && !['text-kv', 'csv', 'jsonl'].includes(b.protocol)) issue([...at, 'timestamps'], `protocol ${b.protocol} carries no board time`);
      // 8N1 = 10 bits per byte; a frame is roughly 12 bytes per channel plus framing.
      const bytesPerS = b.hz * (24 + 12 * b.channels.length);
      if (LINE_PROTOCOLS.includes(b.protocol) && bytesPerS > b.baud / 10) {
        issue([...at, 'hz'], `${b.hz} Hz needs about ${Math.ceil(bytesPerS * 10)} baud, more than baud ${b.baud}`);
      }
      const periodMs = 1000 / b.hz;
      b.anomalies.forEach((a, ai) => {
        const ap = [...at, 'anomalies', ai];
        if (a.channel !== undefined && !names.has(a.channel)) issue([...ap, 'channel'], `no channel "${a.channel}" on board "${b.id}"`);
        if (a.duration < periodMs) issue([...ap, 'duration'], `${a.duration} ms is shorter than the sample period (${Math.round(periodMs)} ms): it would hit no sample`);
        if (['spike', 'level_shift', 'drift', 'noise_burst'].includes(a.kind) && a.magnitude === undefined) issue([...ap, 'magnitude'], `required for ${a.kind}`);
        if (a.count > 1 && a.every === undefined) issue([...ap, 'every'], 'required with count > 1');
        if (a.every !== undefined && a.every < a.duration) issue([...ap, 'every'], 'must be at least duration (occurrences may not overlap)');
        if (a.kind === 'dropout' && a.channel !== undefined && (b.protocol === 'csv' || b.protocol === 'modbus')) {
          issue([...ap, 'channel'], `a ${b.protocol} board can only drop out as a whole (omit channel)`);
        }
      });
      b.faults.forEach((f, fi) => {
        const fp = [...at, 'faults', fi];
        if (f.kind === 'bad_checksum' && b.protocol !== 'nmea' && b.protocol !== 'modbus') issue([...fp, 'kind'], `protocol ${b.protocol} has no checksum`);
        if (f.kind === 'overlong' && b.protocol === 'modbus') issue([...fp, 'kind'], 'modbus has no lines');
        if (f.kind === 'unplug' && f.at === undefined) issue([...fp, 'at'], 'required for unplug');
      });
    });
  });
}

function expandCopies(devices: Out['devices']): Out['devices'] {
  return devices.flatMap((d, di) => {
    if (d.count === 1) return [d];
    const width = Math.max(3, String(d.count).length);
    const copies = Array.from({ length: d.count }, (_, i) => ({ ...d, count: 1, id: `${d.id}-${String(i + 1).padStart(width, '0')}` }));
    if (copies[0]!.id.length > 63) throw new ScenarioError(`invalid scenario: devices[${di}].id: "${d.id}" is too long for ${d.count} numbered copies`, [`devices[${di}].id: "${d.id}" is too long for ${d.count} numbered copies`]);
    return copies;
  });
}

/** Validates an already-parsed scenario object; relative replay files resolve against `baseDir`. */
export function parseScenario(input: unknown, baseDir: string = process.cwd()): Scenario {
  return loadScenarioFrom(input, baseDir);
}

function loadScenarioFrom(source: ConfigSource, baseDir: string): Scenario {
  const data = loadConfig(source, scenarioSchema, { what: 'scenario', error: ScenarioError });
  return { ...data, devices: expandCopies(data.devices), baseDir };
}

/**
 * Loads a scenario from a YAML file path or from YAML text (anything with a newline, or a path
 * that does not exist, is taken as text). Throws {@link ScenarioError} naming every bad key.
 */
export function loadScenario(pathOrYamlText: string): Scenario {
  const isPath = !pathOrYamlText.includes('\n') && existsSync(pathOrYamlText);
  if (!isPath && /^[^\n]*\.ya?ml$/.test(pathOrYamlText.trim())) throw new ScenarioError(`cannot read scenario ${pathOrYamlText}: no such file`);
  return isPath ? loadScenarioFrom(pathOrYamlText, dirname(resolve(pathOrYamlText))) : loadScenarioFrom({ yaml: pathOrYamlText }, process.cwd());
}
