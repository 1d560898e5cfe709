import { setImmediate as nextTurn } from 'node:timers/promises';

/**
 * How long a partition loop runs before it lets the event loop run (issue 16).
 *
 * A loop runs messages already in memory (`for await` over a fetched batch resumes in microtasks
 * only), so it must let the event loop run now and then: meanwhile no socket is read or written
 * (the alerts' publish acks, other partitions' messages, InfluxDB's responses, the ops endpoint).
 * Each loop has a slice of its own: from when it resumed, it yields (setImmediate) before its next
 * message once `sliceMs` have passed, also between the envelopes of a bundle (a bundle of a device
 * that is behind holds 60 and more; it ran whole, tens of ms, before). Time, not readings: a
 * device's first message (100 new sensors: 10–38 ms on the loaded machine, against ~2 ms later)
 * made 2,000 readings a 600 ms turn when a fleet came online.
 *
 * Node runs each setImmediate callback with its microtasks to the end, so the loops that yielded in
 * one turn run one after another in the next: with eight busy partitions a turn of the event loop
 * can take 8 × the slice. One deadline shared by all of them bounded the turn to 5 ms (the loops
 * interleaved message by message), but cost 30–40 % more CPU per reading (bench:processor, four
 * runs alternated: 0.55–0.71 against 0.36–0.50 s of processor CPU per 100k readings), and so did
 * slices of 5/8 ms each (0.57–0.70). Slices of 2 ms each (turns of at most 16 ms) against 5 ms,
 * alternated on the slower host of 2026-12-03 evening (`npm run bench -- --sizes 100 --loads 25
 * --step-seconds 30` and `--loads 25,50 --step-seconds 15`): alert p99 at a quarter of the load
 * 67, 91, 106, 127, 251 ms against 122, 191, 197, 219, 275, 323; processor CPU per 100k readings
 * in `bench:processor` 0.53, 0.58, 0.62 s against 0.54, 0.60, 0.63, 0.69 (1 ms: 0.44, 0.54, 0.64
 * and alert p99 59, 117, 300: no clearer gain). So 2 ms.
 */
export const SLICE_MS = 2;

export class LoopSlice {
  private deadline = -Infinity;

  /**
   * @param sliceMs How long the loop may run from when it resumed. @default SLICE_MS
   * @param now The clock, ms (a test's own). @default performance.now
   */
  constructor(
    private readonly sliceMs = SLICE_MS,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** True once the slice is used up: the loop should `yield()` before its next message. */
  get spent(): boolean {
    return this.now() >= this.deadline;
  }

  /** Resolves after the event loop's I/O (setImmediate), with a new slice from then. */
  async yield(): Promise<void> {
    await nextTurn();
    this.deadline = this.now() + this.sliceMs;
  }
}
