/**
 * How long a partition loop runs before it lets the event loop run (issue 16).
 *
 * A loop runs messages already in memory (`for await` over a fetched batch resumes in microtasks
 * only), so it must let the event loop run now and then: meanwhile no socket is read or written
 * (the alerts' publish acks, other partitions' messages, InfluxDB's responses, the ops endpoint).
 * Each loop has a slice of its own: from when it resumed, it yields (setImmediate) before its next
 * message once `sliceMs` have passed, also between the envelopes of a bundle (a bundle of a device
 * that is behind holds 60 and more; it ran whole, tens of ms, before).
 *
 * Node runs each setImmediate callback with its microtasks to the end, so the loops that yielded in
 * one turn run one after another in the next: with eight busy partitions a turn of the event loop
 * can take 8 × 5 ms. One deadline shared by all of them bounded the turn to 5 ms (the loops
 * interleaved message by message), but cost 30–40 % more CPU per reading (bench:processor, four
 * runs alternated: 0.55–0.71 against 0.36–0.50 s of processor CPU per 100k readings), and so did
 * slices of 5/8 ms each (0.57–0.70). The slices stay 5 ms each.
 */
export const SLICE_MS = 5;

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
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.deadline = this.now() + this.sliceMs;
  }
}
