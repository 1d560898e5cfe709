// The Object Store with node:crypto's SHA-256 (nats-digest.ts), on a real nats-server: the same
// digests as nats.js's own hasher, both ways, and a damaged object still refused.
import { createHash } from 'node:crypto';
import { NatsServer, cleanupAll } from '@fieldline/harness';
import { connect, type NatsConnection } from 'nats';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { useBundledObjectDigest, useNativeObjectDigest } from '../src/nats.js';

afterAll(cleanupAll);
afterEach(() => useBundledObjectDigest());

function bytes(n: number, seed: number): Uint8Array {
  return new Uint8Array(n).map((_, i) => (i * 131 + seed * 17 + (i >> 9)) & 0xff);
}

async function withServer(fn: (nc: NatsConnection) => Promise<void>): Promise<void> {
  const server = await NatsServer.start();
  const nc = await connect({ servers: server.url });
  try {
    await fn(nc);
  } finally {
    await nc.close();
    await server.stop();
  }
}

describe('useNativeObjectDigest', () => {
  it('stores objects whose digest is the SHA-256 of their bytes, readable with either hasher', async () => {
    await withServer(async (nc) => {
      const os = await nc.jetstream().views.os('digest_test');
      // 300 KB over 32 KiB chunks: the digest spans many updates and a partial last chunk.
      const a = bytes(300_000, 1);
      const b = bytes(300_000, 2);
      const sha = (x: Uint8Array): string => `SHA-256=${createHash('sha256').update(x).digest('base64url')}=`;

      const bundledInfo = await os.put({ name: 'by-bundled', options: { max_chunk_size: 32 * 1024 } }, readable(a));
      expect(useNativeObjectDigest()).toBe('native');
      expect(useNativeObjectDigest()).toBe('native'); // idempotent
      const nativeInfo = await os.put({ name: 'by-native', options: { max_chunk_size: 32 * 1024 } }, readable(b));
      expect(bundledInfo.digest).toBe(sha(a));
      expect(nativeInfo.digest).toBe(sha(b));

      // Native reads what the bundled hasher wrote, and the bundled reads what the native wrote.
      expect(Buffer.from((await os.getBlob('by-bundled'))!).equals(Buffer.from(a))).toBe(true);
      useBundledObjectDigest();
      expect(Buffer.from((await os.getBlob('by-native'))!).equals(Buffer.from(b))).toBe(true);
    });
  });

  it('still refuses an object whose bytes do not match its digest', async () => {
    await withServer(async (nc) => {
      expect(useNativeObjectDigest()).toBe('native');
      const os = await nc.jetstream().views.os('digest_bad');
      await os.put({ name: 'x', options: { max_chunk_size: 1024 } }, readable(bytes(10_000, 3)));
      // Rewrite one chunk in place: same size, other bytes (the stream keeps the old one, the last per subject is read).
      const info = await os.info('x');
      const jsm = await nc.jetstreamManager();
      const first = await jsm.streams.getMessage('OBJ_digest_bad', { last_by_subj: `$O.digest_bad.C.${info!.nuid}` });
      await nc.jetstream().publish(first.subject, bytes(first.data.length, 4));
      const got = await os.getBlob('x').then(
        () => 'read',
        (e: unknown) => (e as Error).message,
      );
      expect(got).toMatch(/digest/i);
    });
  });
});

function readable(b: Uint8Array): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(c) {
      c.enqueue(b);
      c.close();
    },
  });
}
