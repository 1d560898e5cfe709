import { isValidId } from './ids.js';
import type { RejectReason } from './errors.js';

/** MQTT topics (device side). A device may publish only under its own id. */
export const TOPIC_PREFIX = 'fl/v1';

export type TopicKind = 'telemetry' | 'status' | 'commands';

export const telemetryTopic = (device: string): string => `${TOPIC_PREFIX}/${device}/telemetry`;
/** Retained; also the Last Will. */
export const statusTopic = (device: string): string => `${TOPIC_PREFIX}/${device}/status`;
/** Downlink. `name` omitted gives the device's subscription filter. */
export const commandsTopic = (device: string, name?: string): string =>
  `${TOPIC_PREFIX}/${device}/commands/${name ?? '#'}`;

export interface ParsedTopic {
  device: string;
  kind: TopicKind;
  /** Levels after the kind, e.g. `['reboot']` for `fl/v1/d1/commands/reboot`. */
  rest: string[];
}

/** Parses a concrete (wildcard-free) fieldline topic; `null` when it is not one. */
export function parseTopic(topic: string): ParsedTopic | null {
  const levels = topic.split('/');
  if (levels.length < 4 || levels[0] !== 'fl' || levels[1] !== 'v1') return null;
  const device = levels[2]!;
  const kind = levels[3]!;
  if (!isValidId(device)) return null;
  if (kind === 'telemetry' || kind === 'status') {
    return levels.length === 4 ? { device, kind, rest: [] } : null;
  }
  if (kind === 'commands') return { device, kind, rest: levels.slice(4) };
  return null;
}

/** NATS side. P partitions per deployment; each has one owner processor at a time. */
export const DEFAULT_PARTITIONS = 8;

/** FNV-1a 32-bit: stable across processes and versions, unlike any built-in hash. */
export function partitionOf(device: string, partitions: number = DEFAULT_PARTITIONS): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < device.length; i++) {
    h ^= device.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % partitions;
}

export type Severity = 'info' | 'warning' | 'critical';
export const SEVERITIES: readonly Severity[] = ['info', 'warning', 'critical'];

/** Stands in for the device token when the sender's id itself was invalid. */
export const UNKNOWN_DEVICE_TOKEN = '_unknown';

export const subjects = {
  telemetry: (partition: number, device: string): string => `fl.telemetry.${partition}.${device}`,
  telemetryPartition: (partition: number): string => `fl.telemetry.${partition}.*`,
  alerts: (severity: Severity, device: string): string => `fl.alerts.${severity}.${device}`,
  sessions: (device: string): string => `fl.sessions.${device}`,
  /** A DEADLETTER subject; build whole dead letters with `deadLetter()` (deadletter.ts). */
  deadletter: (reason: RejectReason, device: string): string =>
    `fl.deadletter.${reason}.${isValidId(device) ? device : UNKNOWN_DEVICE_TOKEN}`,
  commands: (device: string): string => `fl.commands.${device}`,
} as const;

export interface StreamSpec {
  name: string;
  subjects: string[];
}

export const STREAMS = {
  TELEMETRY: { name: 'TELEMETRY', subjects: ['fl.telemetry.>'] },
  ALERTS: { name: 'ALERTS', subjects: ['fl.alerts.>'] },
  SESSIONS: { name: 'SESSIONS', subjects: ['fl.sessions.>'] },
  DEADLETTER: { name: 'DEADLETTER', subjects: ['fl.deadletter.>'] },
} as const satisfies Record<string, StreamSpec>;

/** InfluxDB measurements. Tags come only from validated identities. */
export const MEASUREMENTS = {
  readings: 'readings',
  sessions: 'sessions',
  alerts: 'alerts',
} as const;
