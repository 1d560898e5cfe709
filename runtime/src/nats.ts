/**
 * `@fieldline/runtime/nats`: NATS helpers every part needs once. JetStream API errors are told
 * apart by their `err_code` (the server's stable JetStream error code), never by message text.
 */
import { headers as natsHeaders, type MsgHdrs, type NatsConnection, NatsError } from 'nats';
import type { Logger } from 'pino';
import { settlesWithin } from './deadline.js';

/** JetStream API error codes (nats-server `server/errors.json`). */
export const JS_ERR = {
  streamNotFound: 10059,
  consumerNotFound: 10014,
  /** A stream with this name exists with another config. */
  streamNameExist: 10058,
  /** Subjects overlap another stream. */
  streamSubjectOverlap: 10065,
  consumerNameExist: 10013,
  consumerAlreadyExists: 10148,
  messageNotFound: 10037,
  /** A publish with an expected last (subject) sequence that no longer holds: a KV compare-and-set lost. */
  wrongLastSequence: 10071,
} as const;

const NOT_FOUND = new Set<number>([JS_ERR.streamNotFound, JS_ERR.consumerNotFound, JS_ERR.messageNotFound]);
const EXISTS = new Set<number>([JS_ERR.streamNameExist, JS_ERR.streamSubjectOverlap, JS_ERR.consumerNameExist, JS_ERR.consumerAlreadyExists]);

/** The JetStream API error of `err`, if it is one. */
export function jsApiError(err: unknown): { code: number; err_code: number; description: string } | undefined {
  if (!(err instanceof NatsError) && !(err instanceof Error)) return undefined;
  const api = (err as NatsError).api_error;
  return api && typeof api.err_code === 'number' ? { code: api.code, err_code: api.err_code, description: api.description } : undefined;
}

/** A stream, consumer or message that does not exist. */
export function isNotFound(err: unknown): boolean {
  const api = jsApiError(err);
  return api !== undefined && (NOT_FOUND.has(api.err_code) || api.code === 404);
}

/** A compare-and-set (KV `create`/`update`, `Nats-Expected-Last-Subject-Sequence`) that lost: someone else wrote first. */
export function isWrongLastSequence(err: unknown): boolean {
  return jsApiError(err)?.err_code === JS_ERR.wrongLastSequence;
}

/** A stream or consumer that already exists (a concurrent creator won the race). */
export function isAlreadyExists(err: unknown): boolean {
  const api = jsApiError(err);
  return api !== undefined && EXISTS.has(api.err_code);
}

/** NATS headers from a record (e.g. a contract dead letter's headers). */
export function toHeaders(record: Readonly<Record<string, string>>): MsgHdrs {
  const h = natsHeaders();
  for (const [k, v] of Object.entries(record)) h.set(k, v);
  return h;
}

/**
 * Drains `nc` (its subscriptions finish what they hold, then a flush), but for at most `ms`: a drain
 * ends with a PING/PONG, which a server that stopped answering (frozen, partitioned) never returns,
 * so an unbounded drain holds a shutdown until the service deadline. Past `ms` the connection is
 * closed without it (and `log` warned). Resolves `true` when the drain finished.
 */
export async function drainOrClose(nc: NatsConnection, o: { /** @default 5000 */ ms?: number; log?: Pick<Logger, 'warn'> } = {}): Promise<boolean> {
  if (nc.isClosed()) return true;
  const ms = o.ms ?? 5_000;
  if (await settlesWithin(nc.drain(), ms)) return true;
  o.log?.warn({ waitedMs: ms }, 'NATS did not answer the drain; connection closed without it');
  await nc.close().catch(() => undefined);
  return false;
}

export { useBundledObjectDigest, useNativeObjectDigest } from './nats-digest.js';
