import type { Logger } from 'pino';
import type { z } from 'zod';
import type { FrameErrorReason } from '../errors.js';

/** What a driver got out of one frame: channel values and, if the board sent one, its time. */
export interface Frame {
  /** Board time, epoch ms (the board's own clock, which may be wrong). */
  boardTs?: number;
  values: Array<[channel: string, value: number]>;
}

/** A line protocol: the port splits bytes into lines, the driver parses one line. */
export interface LineDriverSpec<O = unknown> {
  id: string;
  kind: 'line';
  /** One-line description for `check-config` and the README. */
  summary: string;
  options: z.ZodType<O, z.ZodTypeDef, unknown>;
  /** A byte that always starts a frame (NMEA `$`): seeing it mid-line resynchronises. */
  startByte?: number;
  /** Returns a parser; it throws {@link FrameError} for a bad line. */
  create(options: O): (line: string) => Frame;
}

/** Callbacks a polling driver reports into. */
export interface PollContext {
  path: string;
  baudRate: number;
  log: Logger;
  frame(frame: Frame): void;
  bad(reason: FrameErrorReason, message: string): void;
  /** The port state changed (open, closed, reopening). */
  status(open: boolean): void;
  /** The slave stopped answering and the port is being reopened (the silent-port watchdog fired). */
  silent(): void;
}

export interface PollDriver {
  close(): Promise<void>;
}

/** A master/slave protocol (Modbus): the driver owns the port and polls it. */
export interface PollDriverSpec<O = unknown> {
  id: string;
  kind: 'poll';
  summary: string;
  options: z.ZodType<O, z.ZodTypeDef, unknown>;
  start(options: O, ctx: PollContext): PollDriver;
}

export type DriverSpec = LineDriverSpec<any> | PollDriverSpec<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
