import { createRequire } from 'node:module';
import type { ModbusRTU as ModbusClient } from 'modbus-serial/ModbusRTU.js';
import { z } from 'zod';
import { ID_PATTERN } from '@fieldline/contract';
import { backoffDelay } from '@fieldline/runtime';
import { registerDriver } from '../registry.js';
import type { Frame, PollContext, PollDriverSpec } from '../types.js';

const register = z
  .object({
    /** Channel name (mapped to a sensor under the port's `channels`). */
    channel: z.string().regex(ID_PATTERN, 'must match [a-z0-9][a-z0-9_-]{0,62}'),
    /** Register address (0-based). */
    address: z.number().int().min(0).max(65535),
    /** `float32`: two registers, big-endian ABCD; `int16`: one signed register. @default "float32" */
    type: z.enum(['float32', 'int16']).default('float32'),
    /** 4 = read input registers, 3 = read holding registers. @default 4 */
    fc: z.union([z.literal(3), z.literal(4)]).default(4),
    /** int16 raw value is divided by this. @default 1 */
    divisor: z.number().positive().default(1),
  })
  .strict();

export const modbusOptions = z
  .object({
    /** Slave unit id. @default 1 */
    unitId: z.number().int().min(1).max(247).default(1),
    /** Poll period. @default 1000 */
    pollMs: z.number().int().min(10).default(1000),
    /** Answer timeout per request. @default 500 */
    timeoutMs: z.number().int().min(10).default(500),
    /** Polls in a row without one answer after which the port is closed and reopened (silent-port watchdog). @default 3 */
    failuresBeforeReopen: z.number().int().min(1).default(3),
    /** Quiet time after a failed request before the next one; whatever arrives meanwhile (a late or overlong answer) is discarded. @default 50 */
    settleMs: z.number().int().min(0).max(10_000).default(50),
    registers: z.array(register).min(1),
  })
  .strict();

type Options = z.infer<typeof modbusOptions>;

// modbus-serial is CommonJS with `module.exports = ModbusRTU`; its typings declare an ES default.
// Loaded on first use: a device without Modbus ports should not pay its memory.
let modbusRtu: typeof ModbusClient | undefined;
const loadModbus = (): typeof ModbusClient => (modbusRtu ??= createRequire(import.meta.url)('modbus-serial') as typeof ModbusClient);

function decode(buf: Buffer, type: 'float32' | 'int16', divisor: number): number {
  return type === 'float32' ? buf.readFloatBE(0) : buf.readInt16BE(0) / divisor;
}

/** The request went unanswered: modbus-serial's TransactionTimedOutError, or our own deadline. */
const isTimeout = (err: unknown): boolean => (err as { name?: string } | null)?.name === 'TransactionTimedOutError';

class DeadlineError extends Error {
  override readonly name = 'TransactionTimedOutError';
}

/** `p`, or a {@link DeadlineError} after `ms`: no library promise can stall the poll loop. */
function deadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new DeadlineError(`${what}: no result after ${ms} ms`)), ms)));
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/**
 * modbus-serial's RTU buffered port keeps every byte it has not framed in `_buffer` (up to 256),
 * across requests. A slave only speaks when asked, so whatever sits there when a request goes out
 * is stale (the rest of a garbage answer, a late answer to a timed-out request): kept, it would be
 * framed together with, or instead of, the next answer. Pinned by modbus-serial's version in
 * package-lock and by edge/src/drivers/modbus/hostile.test.ts.
 */
interface BufferedPort {
  _buffer?: Buffer;
}
const discardStale = (client: ModbusClient): void => {
  const port = (client as unknown as { _port?: BufferedPort })._port;
  if (port && Buffer.isBuffer(port._buffer)) port._buffer = Buffer.alloc(0);
};

const REOPEN_BACKOFF = { baseMs: 250, maxMs: 10_000 };

/**
 * Modbus RTU master polling a slave with the maintained `modbus-serial` library.
 *
 * No byte sequence stops it for good: a bad answer (CRC, length, unit, exception) is counted and
 * the next poll comes at the poll period; before each request stale bytes are discarded, and after
 * a failed one it waits `settleMs` first, so a late or overlong answer is never read as the next
 * one. Only a silent slave (every request of `failuresBeforeReopen` polls in a row unanswered) or
 * a vanished port reopens the port, with backoff capped at 10 s that restarts at the first answer:
 * once the slave answers correctly again, it is read within 10 s plus a poll.
 */
class ModbusPoller {
  private client: ModbusClient | undefined;
  private closed = false;
  /** Reopens since the last answer (or open failures in a row): the backoff exponent. */
  private attempt = 0;
  /** Polls in a row in which no request got any answer. */
  private silentPolls = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly opts: Options,
    private readonly ctx: PollContext,
  ) {
    this.schedule(0, () => this.connect());
  }

  private schedule(ms: number, fn: () => Promise<void>): void {
    if (this.closed) return;
    this.timer = setTimeout(() => void fn().catch((err) => this.recover(err)), ms);
  }

  /** Anything unexpected in the loop: drop the port and reopen it, never stop. */
  private recover(err: unknown): void {
    this.ctx.log.error({ err }, 'modbus loop failed: reopening');
    void this.drop()
      .catch(() => undefined)
      .then(() => this.schedule(backoffDelay(this.attempt++, REOPEN_BACKOFF), () => this.connect()));
  }

  private async connect(): Promise<void> {
    const client = new (loadModbus())();
    // ModbusRTU re-emits its port's errors (EIO when the adapter is pulled mid-read) as 'error'
    // events on itself: without a listener, Node turns each into an uncaught exception.
    client.on('error', (err) => this.portError(client, err));
    try {
      await deadline(client.connectRTUBuffered(this.ctx.path, { baudRate: this.ctx.baudRate }), 10_000, 'port open');
    } catch (err) {
      if (client.isOpen) client.close(() => undefined);
      const wait = backoffDelay(this.attempt++, REOPEN_BACKOFF);
      this.ctx.log.warn({ err, retryInMs: wait }, 'modbus port open failed');
      this.schedule(wait, () => this.connect());
      return;
    }
    if (this.closed) return void client.close(() => undefined);
    client.setID(this.opts.unitId);
    client.setTimeout(this.opts.timeoutMs);
    this.client = client;
    this.silentPolls = 0;
    this.ctx.status(true);
    this.schedule(0, () => this.poll());
  }

  private async poll(): Promise<void> {
    const client = this.client;
    if (!client) return;
    const started = Date.now();
    const frame: Frame = { values: [] };
    let answered = false;
    let failed = false;
    for (const r of this.opts.registers) {
      if (!client.isOpen || this.closed) break;
      if (failed) await new Promise((res) => setTimeout(res, this.opts.settleMs));
      discardStale(client);
      const len = r.type === 'float32' ? 2 : 1;
      try {
        const read = r.fc === 4 ? client.readInputRegisters(r.address, len) : client.readHoldingRegisters(r.address, len);
        const res = await deadline(read, this.opts.timeoutMs + 1000, 'request');
        frame.values.push([r.channel, decode(res.buffer, r.type, r.divisor)]);
        answered = true;
        failed = false;
      } catch (err) {
        failed = true;
        if (!isTimeout(err)) answered = true;
        this.ctx.bad('modbus_error', `${r.channel} (fc ${r.fc} @${r.address}): ${(err as Error).message}`);
      }
    }
    if (frame.values.length) this.ctx.frame(frame);
    if (answered) {
      this.silentPolls = 0;
      this.attempt = 0;
    } else this.silentPolls += 1;
    if (this.closed) return;
    if (!client.isOpen || this.silentPolls >= this.opts.failuresBeforeReopen) {
      const wait = backoffDelay(this.attempt++, REOPEN_BACKOFF);
      if (client.isOpen) this.ctx.silent();
      this.ctx.log.warn({ silentPolls: this.silentPolls, open: client.isOpen, retryInMs: wait }, 'modbus slave silent or port gone: reopening');
      await this.drop();
      this.schedule(wait, () => this.connect());
      return;
    }
    // After a failed request the next poll also starts with a settle pause.
    const next = Math.max(failed ? this.opts.settleMs : 0, this.opts.pollMs - (Date.now() - started));
    this.schedule(next, () => this.poll());
  }

  /** A port error: logged; the next poll sees the closed port (or the silence) and reopens it. */
  private portError(client: ModbusClient, err: unknown): void {
    this.ctx.log.warn({ err, current: this.client === client }, 'modbus port error');
  }

  private async drop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    this.ctx.status(false);
    if (client?.isOpen) await deadline(new Promise<void>((r) => client.close(() => r())), 5000, 'port close').catch(() => undefined);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.drop();
  }
}

export const modbus: PollDriverSpec<Options> = {
  id: 'modbus',
  kind: 'poll',
  summary: 'Modbus RTU master polling input (FC 04) or holding (FC 03) registers',
  options: modbusOptions,
  start: (options, ctx) => new ModbusPoller(options, ctx),
};

registerDriver(modbus);
