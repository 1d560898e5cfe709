// A scripted Modbus RTU slave on the board side of a pty, for tests that need answers no real
// slave gives (bad CRCs, late answers, noise): each 8-byte read request (FC 03/04) goes to
// `reply`, which returns the bytes to send (and when).
import { createRequire } from 'node:module';
import { SerialPort } from 'serialport';

const crc16 = createRequire(import.meta.url)('modbus-serial/utils/crc16') as (b: Buffer) => number;

/** A frame with its CRC-16/MODBUS appended, low byte first as on the wire. */
export function withCrc(b: Buffer): Buffer {
  const c = Buffer.alloc(2);
  c.writeUInt16LE(crc16(b));
  return Buffer.concat([b, c]);
}

/** The correct answer to a read request (FC 03/04): each of `count` registers holds `value` (uint16), or `values[i]`. */
export function answer(req: Buffer, value: number | ((register: number) => number)): Buffer {
  const count = req.readUInt16BE(4);
  const first = req.readUInt16BE(2);
  const body = Buffer.alloc(3 + 2 * count);
  body[0] = req[0]!;
  body[1] = req[1]!;
  body[2] = 2 * count;
  for (let i = 0; i < count; i++) body.writeUInt16BE(typeof value === 'number' ? value : value(first + i), 3 + 2 * i);
  return withCrc(body);
}

/** What to send for the `n`th request (0-based): bytes now, bytes after `delayMs`, or nothing. */
export type Reply = Buffer | { bytes: Buffer; delayMs: number } | undefined;

export interface ScriptedBoard {
  /** Requests received so far. */
  readonly served: number;
  close(): Promise<void>;
}

export async function scriptedBoard(devicePath: string, baudRate: number, reply: (req: Buffer, n: number) => Reply): Promise<ScriptedBoard> {
  const port = new SerialPort({ path: devicePath, baudRate, autoOpen: false });
  port.on('error', () => undefined);
  await new Promise<void>((res, rej) => port.open((e) => (e ? rej(e) : res())));
  let served = 0;
  let pending = Buffer.alloc(0);
  const timers = new Set<NodeJS.Timeout>();
  port.on('data', (d: Buffer) => {
    pending = Buffer.concat([pending, d]);
    while (pending.length >= 8) {
      const req = pending.subarray(0, 8);
      pending = pending.subarray(8);
      const out = reply(req, served++);
      if (Buffer.isBuffer(out)) {
        if (out.length) port.write(out);
      } else if (out) {
        const t = setTimeout(() => (timers.delete(t), port.isOpen && port.write(out.bytes)), out.delayMs);
        timers.add(t);
      }
    }
  });
  return {
    get served() {
      return served;
    },
    close: async () => {
      for (const t of timers) clearTimeout(t);
      if (port.isOpen) await new Promise<void>((r) => port.close(() => r()));
    },
  };
}
