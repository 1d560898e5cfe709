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
    /** Consecutive failed polls after which the port is closed and reopened (silent-port watchdog). @default 3 */
    failuresBeforeReopen: z.number().int().min(1).default(3),
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

/** Modbus RTU master polling a slave with the maintained `modbus-serial` library. */
class ModbusPoller {
  private client: ModbusClient | undefined;
  private closed = false;
  private attempt = 0;
  private failures = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly opts: Options,
    private readonly ctx: PollContext,
  ) {
    this.schedule(0, () => this.connect());
  }

  private schedule(ms: number, fn: () => Promise<void>): void {
    if (this.closed) return;
    this.timer = setTimeout(() => void fn().catch((err) => this.ctx.log.error({ err }, 'modbus loop failed')), ms);
  }

  private async connect(): Promise<void> {
    const client = new (loadModbus())();
    // ModbusRTU re-emits its port's errors (EIO when the adapter is pulled mid-read) as 'error'
    // events on itself: without a listener, Node turns each into an uncaught exception.
    client.on('error', (err) => this.portError(client, err));
    try {
      await client.connectRTUBuffered(this.ctx.path, { baudRate: this.ctx.baudRate });
    } catch (err) {
      const wait = backoffDelay(this.attempt++, { baseMs: 250, maxMs: 10_000 });
      this.ctx.log.warn({ err, retryInMs: wait }, 'modbus port open failed');
      this.schedule(wait, () => this.connect());
      return;
    }
    if (this.closed) return void client.close();
    client.setID(this.opts.unitId);
    client.setTimeout(this.opts.timeoutMs);
    this.client = client;
    this.failures = 0;
    this.ctx.status(true);
    this.schedule(0, () => this.poll());
  }

  private async poll(): Promise<void> {
    const client = this.client;
    if (!client) return;
    const started = Date.now();
    const frame: Frame = { values: [] };
    let ok = false;
    for (const r of this.opts.registers) {
      if (!client.isOpen) break;
      const len = r.type === 'float32' ? 2 : 1;
      try {
        const res = r.fc === 4 ? await client.readInputRegisters(r.address, len) : await client.readHoldingRegisters(r.address, len);
        frame.values.push([r.channel, decode(res.buffer, r.type, r.divisor)]);
        ok = true;
      } catch (err) {
        this.ctx.bad('modbus_error', `${r.channel} (fc ${r.fc} @${r.address}): ${(err as Error).message}`);
      }
    }
    if (frame.values.length) this.ctx.frame(frame);
    this.failures = ok ? 0 : this.failures + 1;
    if (ok) this.attempt = 0;
    if (!client.isOpen || this.failures >= this.opts.failuresBeforeReopen) {
      this.ctx.log.warn({ failures: this.failures }, 'modbus slave silent or port gone: reopening');
      await this.drop();
      this.schedule(backoffDelay(this.attempt++, { baseMs: 250, maxMs: 10_000 }), () => this.connect());
      return;
    }
    this.schedule(Math.max(0, this.opts.pollMs - (Date.now() - started)), () => this.poll());
  }

  /** A port error: logged; the next poll sees the closed port (or the failures) and reopens it. */
  private portError(client: ModbusClient, err: unknown): void {
    this.ctx.log.warn({ err, current: this.client === client }, 'modbus port error');
  }

  private async drop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    this.ctx.status(false);
    if (client?.isOpen) await new Promise<void>((r) => client.close(() => r()));
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
