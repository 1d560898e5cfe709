/**
 * The event loop's turns, shared by the partition loops of a process (issue 16).
 *
 * A partition loop runs messages already in memory (`for await` over a fetched batch resumes in
 * microtasks only), so it must let the event loop run now and then: the sockets (the alerts'
 * publish acks, other partitions' messages, InfluxDB's responses, the ops endpoint) wait meanwhile.
 *
 * Each loop used to yield (setImmediate) after 5 ms of its own. But Node runs each setImmediate
 * callback and all its microtasks before the next callback, so the loops that yielded in one
 * turn ran one after another in the next: with eight busy partitions a turn took 8 × 5 ms before
 * a socket was read again. Measured in the whole-pipeline bench's closed loop (100 readings per
 * envelope), the processor's event-loop delay was ~100 ms at p50 and up to ~390 ms at p99.
 *
 * Now one turn has one deadline for all of them. The loops that yielded resume together from one
 * setImmediate, so their microtasks interleave message by message, and each yields again once the
 * turn's `turnMs` are over: a turn of the event loop stays near `turnMs` however many partitions
 * are busy, and they share it.
 */
export const TURN_MS = 5;

export class TurnShare {
  private deadline = -Infinity;
  private waiting: (() => void)[] = [];

  /**
   * @param turnMs How long the loops may run before the event loop's next turn. @default TURN_MS
   * @param now The clock, ms (a test's own). @default performance.now
   */
  constructor(
    private readonly turnMs = TURN_MS,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** True once this turn's time is used up: the loop should `yield()` before its next message. */
  get spent(): boolean {
    return this.now() >= this.deadline;
  }

  /** Milliseconds left in this turn (0 once spent). */
  get leftMs(): number {
    return Math.max(0, this.deadline - this.now());
  }

  /** Resolves in the event loop's next turn, after its I/O, together with the other loops that yielded. */
  yield(): Promise<void> {
    return new Promise((resolve) => {
      if (this.waiting.push(resolve) === 1) setImmediate(this.turn);
    });
  }

  private readonly turn = (): void => {
    const waiting = this.waiting;
    this.waiting = [];
    this.deadline = this.now() + this.turnMs;
    for (const resume of waiting) resume();
  };
}

/** The process's one event loop, so its one share (the partition loops of every processor in it). */
export const turns = new TurnShare();
