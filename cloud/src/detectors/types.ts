import type { z } from 'zod';
import type { StateReader, StateWriter } from './state-codec.js';

/** What a detector says about one reading. A detector may reuse the object: it is valid until its next `update` or `onSilence`. */
export interface DetectorResult {
  /**
   * Evidence that this reading is anomalous, in [0,1]: near 0 for ordinary readings, 0.5 where the
   * rule's condition starts to hold, towards 1 beyond. A detector may score the later readings of
   * an open episode low (the anomaly detector and flatline do): the score marks news, `active`
   * carries the episode and its alert.
   */
  score: number;
  /** The rule's condition holds (with the detector's own hysteresis applied). */
  active: boolean;
  /**
   * Event time the result speaks for, when not the reading's: a window rule judges a window, and
   * its alert starts and ends at window ends, whatever reading closed the window.
   */
  at?: number;
}

/**
 * A rule instance for one sensor kind. State lives outside (one small object per sensor) so
 * detectors stay pure: same readings in the same order, same results.
 */
export interface Detector<S = unknown> {
  init(): S;
  update(state: S, ts: number, value: number): DetectorResult;
  /** Human text for an alert transition; only called on transitions (formatting is not free). */
  describe(state: S, value: number): string;
  /** Called when the sensor's session closed because the sensor fell silent (dropout). */
  onSilence?(state: S, ts: number): DetectorResult;
  /**
   * Checkpoints (docs/architecture.md, "Partitions, leases and checkpoints"): writes the state,
   * a version byte first, so that `restore` gives a state that computes bit for bit what this one
   * would have. Every detector implements both.
   */
  snapshot(state: S, w: StateWriter): void;
  /** Reads what `snapshot` wrote; throws `SnapshotError` on bytes it cannot read (another version, wrong sizes). */
  restore(r: StateReader): S;
}

export interface DetectorPlugin<P = unknown> {
  type: string;
  /** Strict schema of the entry's `params`. */
  params: z.ZodType<P, z.ZodTypeDef, unknown>;
  create(params: P): Detector;
}

export const clamp01 = (x: number): number => (x <= 0 ? 0 : x >= 1 ? 1 : x);

/**
 * Maps a ratio r = measure / limit to [0,1): 0.5 exactly at the limit, steep around it (r⁸), so
 * ordinary readings score near 0 (r = 0.5 gives 0.004) and the max over rules stays meaningful.
 */
export const ratioScore = (r: number): number => {
  if (!(r > 0)) return 0;
  const r8 = r * r * r * r * r * r * r * r;
  return r8 === Infinity ? 1 : r8 / (r8 + 1);
};
