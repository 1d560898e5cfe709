/**
 * Trigger for time windows on a device's event time, with the same lateness as sessions
 * (Flink's event-time trigger with allowed lateness):
 * - **on time**: a window `[start, end)` is emitted once its device's event time reaches `end`;
 * - **late**: until the watermark (event time − `allowedLatenessMs`) passes `end`, a reading that
 *   still falls in it updates it and it is emitted again, under the same key (its start);
 * - **final**: once the watermark passes `end`, every reading that could still change it would be
 *   late, so its state is dropped; a reading for it then goes to the late side output.
 * The device's event time is the caller's (its newest reading or heartbeat), per device, so one
 * device's clock never moves another's windows.
 */
export class EventTimeTrigger {
  constructor(readonly allowedLatenessMs: number) {
    if (!(allowedLatenessMs >= 0)) throw new RangeError(`allowedLatenessMs must be >= 0, got ${allowedLatenessMs}`);
  }

  watermark(deviceTime: number): number {
    return deviceTime - this.allowedLatenessMs;
  }

  /** The window's on-time emission is due. */
  isDue(end: number, deviceTime: number): boolean {
    return deviceTime >= end;
  }

  /** No reading can change the window any more (as `SessionWindows.isLate` judges a reading). */
  isFinal(end: number, deviceTime: number): boolean {
    return this.watermark(deviceTime) >= end;
  }
}
