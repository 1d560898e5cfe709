import { createHash } from 'node:crypto';
import { isRejectReason, type RejectReason } from './errors.js';
import { isValidId } from './ids.js';
import { subjects, UNKNOWN_DEVICE_TOKEN } from './topics.js';

/** Headers on a DEADLETTER message; the body is the original payload, byte for byte. */
export const DEADLETTER_HEADERS = {
  reason: 'Fl-Reason',
  error: 'Fl-Error',
  device: 'Fl-Device',
  source: 'Fl-Source',
} as const;

/** Longest header value (error texts can quote device bytes). */
export const MAX_DEADLETTER_HEADER_CHARS = 512;

/** Who filed it: `mqtt:telemetry`, `processor/partition-3`, `processor/influx`. */
const SOURCE_PATTERN = /^[a-z0-9][a-z0-9:/_.-]{0,63}$/;

export interface DeadLetterInput {
  reason: RejectReason;
  /** The sender's device id (the subject says `_unknown` when it is not a valid id). */
  device: string;
  source: string;
  /** Why (an error's message), escaped and capped into the `Fl-Error` header. */
  error: string | Error;
  /** The refused bytes, kept as they are. */
  payload: Uint8Array | string;
}

export interface DeadLetter {
  subject: string;
  /** `Nats-Msg-Id`: same reason, device and bytes = same dead letter, so a redelivery or resend is a duplicate. */
  msgID: string;
  headers: Record<(typeof DEADLETTER_HEADERS)[keyof typeof DEADLETTER_HEADERS], string>;
  payload: Uint8Array;
}

/**
 * Control characters would end a NATS header line, so they are escaped (`\u000a`), and the
 * length is capped at {@link MAX_DEADLETTER_HEADER_CHARS}.
 */
export function headerText(s: string): string {
  const escaped = s.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return escaped.length > MAX_DEADLETTER_HEADER_CHARS ? escaped.slice(0, MAX_DEADLETTER_HEADER_CHARS) : escaped;
}

/** The one dead-letter builder: subject, headers, msgID and caps for every part that files one. */
export function deadLetter(input: DeadLetterInput): DeadLetter {
  if (!isRejectReason(input.reason)) throw new TypeError(`deadLetter: unknown reason ${JSON.stringify(input.reason)}`);
  if (!SOURCE_PATTERN.test(input.source)) throw new TypeError(`deadLetter: source ${JSON.stringify(input.source)} must match ${SOURCE_PATTERN.source}`);
  const payload = typeof input.payload === 'string' ? Buffer.from(input.payload) : input.payload;
  const device = isValidId(input.device) ? input.device : UNKNOWN_DEVICE_TOKEN;
  const digest = createHash('sha256').update(payload).digest('hex').slice(0, 32);
  return {
    subject: subjects.deadletter(input.reason, device),
    msgID: `dl:${input.reason}:${device}:${digest}`,
    headers: {
      [DEADLETTER_HEADERS.reason]: input.reason,
      [DEADLETTER_HEADERS.error]: headerText(typeof input.error === 'string' ? input.error : input.error.message),
      [DEADLETTER_HEADERS.device]: headerText(input.device),
      [DEADLETTER_HEADERS.source]: input.source,
    } as DeadLetter['headers'],
    payload,
  };
}

/** Reads a stored dead letter's headers back (`get` is e.g. `msg.headers.get`); null when it is not one. */
export function readDeadLetter(get: (name: string) => string | undefined): { reason: RejectReason; error: string; device: string; source: string } | null {
  const reason = get(DEADLETTER_HEADERS.reason);
  if (!isRejectReason(reason)) return null;
  return { reason, error: get(DEADLETTER_HEADERS.error) ?? '', device: get(DEADLETTER_HEADERS.device) ?? '', source: get(DEADLETTER_HEADERS.source) ?? '' };
}
