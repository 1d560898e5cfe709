import { rmSync } from 'node:fs';
import type { PtyPair } from '@fieldline/runtime/process';
import type { Logger } from 'pino';
import { SerialPort } from 'serialport';
import { FrameFaults } from './faults.js';
import type { BoardPlan } from './plan.js';
import { encodeLineFrame } from './protocols/line.js';
import { ModbusSlave, registerImage, type RegisterSpec } from './protocols/modbus.js';

/** Bytes queued on a port before frames are dropped (and counted): the edge is not reading. */
const MAX_QUEUED_BYTES = 256 * 1024;
/** Frames held while the port is being re-plugged; beyond this the oldest are dropped (counted). */
const MAX_HELD_FRAMES = 10_000;

/** One reading as a line board wrote it: its record, for a ledger of what was sent. */
export interface SentReading {
  device: string;
  /** The channel name (the sensor id the edge maps it to by default). */
  sensor: string;
  /** What the frame said: the board clock for a board with timestamps, else the tick's event time. */
  ts: number;
  value: number;
}

/** Receives each frame's readings as its bytes are handed to the port (nothing held, nothing dropped). */
export type SentRecorder = (readings: SentReading[]) => void;

export interface BoardStats {
  device: string;
  board: string;
  /** Frames written (line) or responses sent (modbus). */
  frames: number;
  bytes: number;
  /** Modbus requests answered. */
  polls: number;
  /** Modbus request windows that failed the CRC (skipped byte by byte to resynchronise). */
  badCrc: number;
  /** Frames lost while unplugged, or dropped because nobody read the port. */
  dropped: number;
  unplugs: number;
  faults: Record<'garbage' | 'truncated' | 'overlong' | 'bad_checksum', number>;
}

/** One simulated board: writes its frames (or answers polls) on the device side of a pty pair. */
export class SerialBoard {
  /** Next tick to emit (line) / tick whose values the registers hold (modbus). */
  k = 0;
  private port: SerialPort | undefined;
  private readonly faults: FrameFaults;
  private readonly slave: ModbusSlave | undefined;
  private readonly registerSpecs: RegisterSpec[];
  private held: [Buffer, SentReading[] | undefined][] = [];
  private replugging = false;
  private closed = false;
  private halted = false;
  private lastDataAt = 0;
  private readonly unplugWindows: [number, number][];
  readonly stats: BoardStats;

  constructor(
    readonly plan: BoardPlan,
    readonly pair: PtyPair,
    seed: number,
    /** Fast mode: modbus boards advance one tick per answered poll. */
    private readonly fast: boolean,
    /** Virtual end; windows are listed up to it (or a day for open-ended runs). */
    until: number,
    private readonly log: Logger,
    private readonly record?: SentRecorder,
  ) {
    this.faults = new FrameFaults(plan.board, seed, plan.device);
    this.stats = { device: plan.device, board: plan.board.id, frames: 0, bytes: 0, polls: 0, badCrc: 0, dropped: 0, unplugs: 0, faults: this.faults.counts };
    this.registerSpecs = plan.channels.map((c) => ({ type: c.channel.register, scale: c.channel.scale }));
    if (plan.board.protocol === 'modbus') {
      this.slave = new ModbusSlave(plan.board.unitId, () => this.registers(), (e) => {
        if (e !== 'bad_crc') return;
        this.stats.badCrc++;
        this.log.debug('request with bad CRC ignored');
      });
    }
    const start = plan.scenario.start;
    const end = Number.isFinite(until) ? until : start + 86_400_000;
    this.unplugWindows = plan.board.faults.flatMap((f) => {
      if (f.kind !== 'unplug' || f.at === undefined) return [];
      const windows: [number, number][] = [];
      for (let t = start + f.at; t < end; t = f.every ? t + f.every : end) windows.push([t, t + f.duration]);
      return windows;
    });
  }

  get isModbus(): boolean {
    return this.slave !== undefined;
  }

  async open(): Promise<void> {
    const port = new SerialPort({ path: this.pair.devicePath, baudRate: this.plan.board.baud, autoOpen: false });
    port.on('error', (err) => this.log.warn({ err }, 'serial port error'));
    port.on('close', () => {
      if (this.port !== port) return;
      // Not closed by us: the pty went away (socat died or the cable was pulled by hand).
      this.port = undefined;
      this.log.warn('serial port closed unexpectedly; frames are held until it is reopened');
    });
    if (this.slave) port.on('data', (chunk: Buffer) => this.onRequestBytes(chunk));
    await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
    this.port = port;
    if (!this.replugging) this.flushHeld();
  }

  /** Is virtual time `t` inside an unplug window? */
  private unpluggedAt(t: number): boolean {
    return this.unplugWindows.some(([a, b]) => t >= a && t < b);
  }

  /** Moves the cable to match virtual time `t`: pull it in a window, plug it back after. */
  private async followCable(t: number): Promise<void> {
    const want = !this.unpluggedAt(t);
    if (want === this.pair.connected || this.replugging || this.closed) return;
    this.replugging = true;
    try {
      if (!want) {
        this.stats.unplugs++;
        this.log.info('unplugging the port (fault)');
        await this.closePort();
        await this.pair.unplug();
      } else {
        await this.pair.replug();
        if (!this.closed) await this.open();
        this.log.info('port plugged back in');
      }
    } catch (err) {
      this.log.warn({ err }, 'unplug/replug failed');
    } finally {
      this.replugging = false;
    }
    if (this.pair.connected && this.port) this.flushHeld();
  }

  private registers(): Uint16Array | null {
    const values = this.plan.values(this.k);
    return values.every((v) => v === null) ? null : registerImage(this.registerSpecs, values);
  }

  private onRequestBytes(chunk: Buffer): void {
    const now = performance.now();
    // A long gap means the master gave up on a partial frame (RTU inter-frame silence).
    if (now - this.lastDataAt > 100) this.slave!.reset();
    this.lastDataAt = now;
    for (const res of this.slave!.feed(chunk)) {
      this.write(this.faults.applyToModbus(res, this.stats.polls));
      this.stats.polls++;
      if (this.fast) this.k++;
    }
  }

  private write(bytes: Buffer, sent?: SentReading[]): boolean {
    if (this.halted) return false;
    const port = this.port;
    if (!port || this.replugging) {
      if (this.held.length >= MAX_HELD_FRAMES) {
        this.held.shift();
        this.stats.dropped++;
      }
      this.held.push([bytes, sent]);
      return true;
    }
    if (port.writableLength > MAX_QUEUED_BYTES) {
      this.stats.dropped++;
      return false;
    }
    this.stats.frames++;
    this.stats.bytes += bytes.length;
    if (sent) this.record?.(sent);
    return port.write(bytes);
  }

  private flushHeld(): void {
    const held = this.held;
    this.held = [];
    for (const [b, sent] of held) this.write(b, sent);
  }

  /** The readings frame k carries, as the edge will read them (values as printed). */
  private sentReadings(k: number): SentReading[] {
    const plan = this.plan;
    const ts = plan.board.timestamps || plan.channels[0]!.replay ? plan.boardTs(k) : plan.eventTs(k);
    const out: SentReading[] = [];
    plan.values(k).forEach((v, ci) => {
      if (v !== null) out.push({ device: plan.device, sensor: plan.channels[ci]!.channel.name, ts, value: Number(plan.format(ci, k, v)) });
    });
    return out;
  }

  /**
   * Emits every tick due by virtual time `now` (line boards), or moves the register image to it
   * (modbus). Returns false once the board is past `until`.
   */
  advanceTo(now: number, until: number): boolean {
    void this.followCable(now);
    for (;;) {
      if (this.k >= this.plan.tickCount) return false;
      const at = this.plan.scheduleAt(this.k);
      if (at > now || at >= until) return at < until;
      if (this.slave) {
        if (this.k + 1 < this.plan.tickCount && this.plan.scheduleAt(this.k + 1) <= now) this.k++;
        else return true;
      } else {
        this.emit(this.k++, at);
      }
    }
  }

  /** Next virtual time this board needs attention. */
  nextAt(): number {
    const nextTick = this.k < this.plan.tickCount ? this.plan.scheduleAt(this.slave ? this.k + 1 : this.k) : Infinity;
    const edge = this.unplugWindows.flatMap(([a, b]) => [a, b]).find((t) => t > this.plan.scheduleAt(Math.max(0, this.k - 1)));
    return Math.min(nextTick, edge ?? Infinity);
  }

  private emit(k: number, at: number): void {
    if (this.unpluggedAt(at)) {
      this.stats.dropped++;
      return;
    }
    const frame = encodeLineFrame(this.plan, k);
    if (frame !== null) this.write(this.faults.applyToLine(frame, k, this.plan.board.maxFrameBytes), this.record ? this.sentReadings(k) : undefined);
  }

  /** Writes nothing more (ports stay open); Modbus boards stop answering. */
  halt(): void {
    this.halted = true;
    this.held = [];
  }

  /** Fast mode: writes ticks as fast as the port drains, up to `until`. Modbus boards just answer. */
  async runFast(until: number): Promise<void> {
    if (this.slave) return;
    while (!this.closed && !this.halted && this.k < this.plan.tickCount) {
      const at = this.plan.scheduleAt(this.k);
      if (at >= until) return;
      if (this.unpluggedAt(at) !== !this.pair.connected) await this.followCable(at);
      this.emit(this.k++, at);
      const port = this.port;
      if (port && port.writableLength > 16 * 1024) await new Promise((r) => port.once('drain', r));
      else if (this.k % 256 === 0) await new Promise((r) => setImmediate(r));
    }
  }

  private async closePort(): Promise<void> {
    const port = this.port;
    this.port = undefined;
    if (port?.isOpen) await new Promise<void>((r) => port.close(() => r()));
  }

  async close(): Promise<void> {
    this.closed = true;
    const port = this.port;
    // Bounded: if nobody reads the other end, the queued bytes never drain.
    if (port?.isOpen) await Promise.race([new Promise<void>((r) => port.drain(() => r())), new Promise((r) => setTimeout(r, 1000))]);
    await this.closePort();
    await this.pair.close();
    // socat leaves its links behind when stopped; a dangling tty path would mislead the edge.
    for (const link of [this.pair.devicePath, this.pair.hostPath]) rmSync(link, { force: true });
  }
}
