/**
 * The V8 flags the gateway runs with. Every launcher carries them: the `fieldline-gateway` bin's
 * shebang, the systemd unit, the whole-pipeline bench's gateway and `bench:gateway`'s
 * (`test/node-flags.test.ts` fails when one drifts). The demo runs the gateway inside its own process,
 * which `npm run demo` starts with the same flag.
 *
 * Semi-spaces of up to 64 MB, as the processor's (cloud/src/processor/node-flags.ts): a PUBLISH
 * lives until JetStream acks its store (the PUBACK waits for it: tens to hundreds of ms under
 * load), so the default young generation's GCs found the in-flight messages alive and promoted
 * them, to die in the old generation. GC was 21 % of the gateway's CPU at one reading per envelope
 * (`npm run bench -- --sizes 1 --profile`). `npm run bench:gateway`, four alternating runs each,
 * 2026-12-02: 27.5k single-reading envelopes/s on average with the flag against 23.9k without
 * (+15 %), 790k against 662k readings/s in 100-reading envelopes (+19 %). The cost is memory: the
 * gateway's RSS at the end of the bench was 352–405 MB against 290–317 MB.
 */
export const GATEWAY_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=64'];
