/**
 * The V8 flags the processor runs with. Every launcher carries them: the `fieldline-cloud` bin's
 * shebang, the systemd unit, the whole-pipeline bench's processes, the in-process pipeline benches
 * and the demo (`test/node-flags.test.ts` fails when one drifts).
 *
 * Semi-spaces of up to 64 MB (V8 sizes them from the heap limit: at most 32 MB on a 24 GB machine,
 * growing from 1 MB while objects keep surviving): a batch's lines live until its flush
 * (`sink.batchLines`, 5,000 lines), so each young-generation GC found up to a batch of them alive
 * and promoted them, to die in the old generation. With more room between GCs there are fewer,
 * each finding about as many lines alive, and fewer lines live long enough to be promoted.
 * Measured on the slow fleet of `bench:detect` (one reading per message): GC 0.9 → 0.3 µs per
 * reading. The cost is memory: at
 * most 2 × 32 MB more while the processor allocates fast (the young generation grows only when
 * its objects keep surviving), none of it for an idle one.
 */
export const PROCESSOR_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=64'];
