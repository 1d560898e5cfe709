/** CRC-16/MODBUS (poly 0xA001 reflected, init 0xFFFF), sent low byte first. */
export function crc16(buf: Uint8Array, end: number = buf.length): number {
  let crc = 0xffff;
  for (let i = 0; i < end; i++) {
    crc ^= buf[i]!;
    for (let b = 0; b < 8; b++) crc = crc & 1 ? (crc >>> 1) ^ 0xa001 : crc >>> 1;
  }
  return crc;
}

/** Appends the CRC (low byte first) to a PDU with its unit id. */
export function withCrc(frame: number[]): Buffer {
  const buf = Buffer.alloc(frame.length + 2);
  buf.set(frame);
  const crc = crc16(buf, frame.length);
  buf[frame.length] = crc & 0xff;
  buf[frame.length + 1] = crc >>> 8;
  return buf;
}

export const MODBUS_EXCEPTION = { illegalFunction: 1, illegalDataAddress: 2, illegalDataValue: 3 } as const;

/** One channel's registers: float32 takes two (ABCD), int16 one (round(value × scale)). */
export interface RegisterSpec {
  type: 'float32' | 'int16';
  scale: number;
}

/**
 * Register map of docs/serial-protocols.md: channel i at register 2·i, the same image for input
 * (FC 04) and holding (FC 03) registers. The unused second word of an int16 channel reads 0.
 */
export function registerImage(specs: RegisterSpec[], values: (number | null)[]): Uint16Array {
  const regs = new Uint16Array(specs.length * 2);
  const f32 = Buffer.alloc(4);
  specs.forEach((s, i) => {
    const v = values[i] ?? NaN;
    if (s.type === 'float32') {
      f32.writeFloatBE(v);
      regs[2 * i] = f32.readUInt16BE(0);
      regs[2 * i + 1] = f32.readUInt16BE(2);
    } else {
      regs[2 * i] = Math.max(-32768, Math.min(32767, Math.round(v * s.scale))) & 0xffff;
    }
  });
  return regs;
}

export type ModbusEvent = 'request' | 'bad_crc' | 'other_unit' | 'exception';

/**
 * Splits a byte stream into RTU requests and answers them. Over a pty the 3.5-character gaps
 * are not reliable, so frames are found by length (8 bytes for every supported request) and CRC;
 * on a bad CRC one byte is skipped to resynchronise. A real slave never answers a bad CRC.
 */
export class ModbusSlave {
  private buf: Buffer = Buffer.alloc(0);

  constructor(
    private readonly unitId: number,
    /** Current register image; `null` = the board is in a dropout (no answer at all). */
    private readonly registers: () => Uint16Array | null,
    private readonly onEvent: (e: ModbusEvent) => void = () => {},
  ) {}

  /** Drops a partial frame (the master timed out and will start over). */
  reset(): void {
    this.buf = Buffer.alloc(0);
  }

  /** Feeds received bytes; returns the responses to send, in order. */
  feed(chunk: Buffer): Buffer[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: Buffer[] = [];
    while (this.buf.length >= 8) {
      const frame = this.buf.subarray(0, 8);
      const crc = crc16(frame, 6);
      if (frame[6] !== (crc & 0xff) || frame[7] !== crc >>> 8) {
        this.onEvent('bad_crc');
        this.buf = this.buf.subarray(1);
        continue;
      }
      this.buf = this.buf.subarray(8);
      const unit = frame[0]!;
      if (unit !== this.unitId) {
        this.onEvent('other_unit');
        continue;
      }
      const res = this.answer(frame);
      if (res) out.push(res);
    }
    return out;
  }

  private answer(req: Buffer): Buffer | null {
    const regs = this.registers();
    if (!regs) return null;
    const fc = req[1]!;
    const exception = (code: number): Buffer => {
      this.onEvent('exception');
      return withCrc([this.unitId, fc | 0x80, code]);
    };
    if (fc !== 3 && fc !== 4) return exception(MODBUS_EXCEPTION.illegalFunction);
    const addr = req.readUInt16BE(2);
    const qty = req.readUInt16BE(4);
    if (qty < 1 || qty > 125) return exception(MODBUS_EXCEPTION.illegalDataValue);
    if (addr + qty > regs.length) return exception(MODBUS_EXCEPTION.illegalDataAddress);
    this.onEvent('request');
    const bytes = [this.unitId, fc, qty * 2];
    for (let i = 0; i < qty; i++) bytes.push(regs[addr + i]! >>> 8, regs[addr + i]! & 0xff);
    return withCrc(bytes);
  }
}
