/**
 * Checkpoints in the Object Store (checkpoints.ts) on a real nats-server: stored compressed (the
 * Object Store hashes every stored byte in JavaScript), read back byte for byte; one stored
 * uncompressed by an earlier version is read as it is; damaged bytes throw (the takeover then
 * replays, see republish.test.ts).
 */
import { cleanupAll, NatsServer } from '@fieldline/harness';
import { randomBytes } from 'node:crypto';
import { connect, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHECKPOINT_CHUNK_BYTES, paced, Snapshots } from '../../src/processor/checkpoints.js';
import { PartitionPipeline, Effects } from '../../src/processor/pipeline.js';
import { snapshotPipeline, restorePipeline } from '../../src/processor/pipeline-state.js';
import { loadProcessorConfig } from '../../src/processor/config.js';
import { envelope } from './helpers.js';

describe('checkpoint store', () => {
  let nats: NatsServer | undefined;
  let nc: NatsConnection | undefined;
  let snapshots: Snapshots;
  const cfg = loadProcessorConfig({ influx: { url: 'http://127.0.0.1:1', database: 'x' } });
  // A pipeline with some state: 20 sensors, a few minutes at 1 Hz, default detectors and rollups.
  const pipeline = new PartitionPipeline(cfg);
  const fx = new Effects();
  const t0 = Date.UTC(2026, 2, 1);
  for (let k = 0; k < 30; k++) {
    const readings = [];
    for (let i = 0; i < 10; i++) for (let s = 0; s < 20; s++) readings.push({ sensor: `s${s}`, ts: t0 + (k * 10 + i) * 1000, value: 20 + s + Math.sin(k + i + s) });
    pipeline.process(envelope('ck-a', readings), fx, undefined, t0 + k * 10_000);
    fx.clear();
  }
  const state = snapshotPipeline(pipeline, { partition: 0, partitions: 1, seq: 30 });

  beforeAll(async () => {
    nats = await NatsServer.start();
    nc = await connect({ servers: nats.url });
    snapshots = new Snapshots(await nc.jetstream().views.os('ck_test'), 'g');
  });
  afterAll(async () => {
    await nc?.close();
    await nats?.stop();
    cleanupAll();
  });

  it('stores a state compressed and reads it back byte for byte; the restored pipeline is the same', async () => {
    const ref = await snapshots.put(0, 1, 30, state);
    expect(ref.bytes).toBeLessThan(state.length / 2);
    const back = await snapshots.get(ref);
    expect(Buffer.from(back!).equals(Buffer.from(state))).toBe(true);
    const restored = restorePipeline(cfg, back!, { partition: 0, partitions: 1 });
    expect(Buffer.from(snapshotPipeline(restored.pipeline, { partition: 0, partitions: 1, seq: 30 })).equals(Buffer.from(state))).toBe(true);
  });

  it('stores a checkpoint in 32 KiB chunks (the most the Object Store hashes in one turn)', async () => {
    // Random bytes do not compress: about 200 KB stored, seven chunks.
    const big = new Uint8Array(randomBytes(200_000));
    const ref = await snapshots.put(0, 2, 40, big);
    const os = await nc!.jetstream().views.os('ck_test');
    const info = (await os.info(ref.name))!;
    expect(info.options?.max_chunk_size).toBe(CHECKPOINT_CHUNK_BYTES);
    expect(info.chunks).toBe(Math.ceil(ref.bytes / CHECKPOINT_CHUNK_BYTES));
    expect(info.chunks).toBeGreaterThan(5);
    expect(Buffer.from((await snapshots.get(ref))!).equals(Buffer.from(big))).toBe(true);
  });

  it('hands the Object Store one slice per turn of the event loop', async () => {
    const bytes = new Uint8Array(randomBytes(10 * 1000 + 7));
    let turns = 0;
    let ticking = true;
    const tick = (): void => {
      turns++;
      if (ticking) setImmediate(tick);
    };
    setImmediate(tick);
    const reader = paced(bytes, 1000).getReader();
    const seen: { at: number; len: number }[] = [];
    const parts: Uint8Array[] = [];
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      seen.push({ at: turns, len: value.length });
      parts.push(value);
    }
    ticking = false;
    expect(Buffer.concat(parts).equals(Buffer.from(bytes))).toBe(true);
    expect(seen.map((x) => x.len)).toEqual([...Array(10).fill(1000), 7]);
    // The event loop ran (the ticker moved) between every two slices.
    for (let i = 1; i < seen.length; i++) expect(seen[i]!.at).toBeGreaterThan(seen[i - 1]!.at);
  });

  it('reads a checkpoint stored uncompressed (an earlier version) as it is', async () => {
    const os = await nc!.jetstream().views.os('ck_test');
    await os.putBlob({ name: 'g.0.1.7' }, state);
    const back = await snapshots.get({ name: 'g.0.1.7', seq: 7, bytes: state.length });
    expect(Buffer.from(back!).equals(Buffer.from(state))).toBe(true);
  });

  it('damaged compressed bytes throw; a missing checkpoint is null', async () => {
    const os = await nc!.jetstream().views.os('ck_test');
    const ref = await snapshots.put(0, 1, 31, state);
    const stored = (await os.getBlob(ref.name))!;
    stored[stored.length >> 1]! ^= 0x5a;
    await os.putBlob({ name: ref.name }, stored);
    await expect(snapshots.get(ref)).rejects.toThrow();
    expect(await snapshots.get({ name: 'g.0.1.999', seq: 999, bytes: 0 })).toBeNull();
  });
});
