import type { Reading } from '@fieldline/contract';
import type { Timestamper } from './clock.js';
import type { PortConfig } from './config.js';
import type { Frame } from './drivers/index.js';

/** What the clock says when a frame is read. */
export interface FrameTime {
  /** Wall-clock time the frame was read (epoch ms). */
  wall: number;
  synced: boolean;
  /** `clock.unsynced`: what happens to readings while the clock is not synced. */
  unsynced: 'send' | 'hold';
}

/** One frame turned into readings, as the gateway receives them (or held until the clock syncs). */
export interface MappedFrame {
  readings: Reading[];
  /** The readings wait on disk for the clock to sync; their `ts` is re-timed then. */
  held: boolean;
  /** Channels the frame carried that the port's `channels` do not map (counted, not sent). */
  unmapped: Array<[channel: string, raw: number]>;
  /** Channels whose raw·scale + offset is not a finite number (counted as `bad_value`). */
  badValues: Array<[channel: string, raw: number]>;
}

/**
 * The channel map and timestamps of one port: value = raw·scale + offset, the unit, the board's
 * time or the read time (strictly increasing per sensor through `stamps`), and `quality:
 * "uncertain"` while the clock is unsynced. The agent and `fieldline-edge test` both use it, so
 * the test command prints exactly what the agent would queue.
 */
export function mapFrame(p: PortConfig, frame: Frame, at: FrameTime, stamps: Timestamper): MappedFrame {
  const boardTime = p.timestamps === 'board' && frame.boardTs !== undefined;
  const held = !at.synced && !boardTime && at.unsynced === 'hold';
  const out: MappedFrame = { readings: [], held, unmapped: [], badValues: [] };
  for (const [channel, raw] of frame.values) {
    const ch = p.channels[channel];
    if (!ch) {
      out.unmapped.push([channel, raw]);
      continue;
    }
    const value = raw * ch.scale + ch.offset;
    if (!Number.isFinite(value)) {
      out.badValues.push([channel, raw]);
      continue;
    }
    const base = boardTime ? frame.boardTs! : at.wall;
    const r: Reading = { sensor: ch.sensor, ts: held ? base : stamps.stamp(ch.sensor, base), value };
    if (ch.unit !== undefined) r.unit = ch.unit;
    if (!at.synced && !boardTime) r.quality = 'uncertain';
    out.readings.push(r);
  }
  return out;
}
