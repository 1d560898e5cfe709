/**
 * nats.js's Object Store with Node's native SHA-256. The Object Store (nats.js 2.x,
 * `lib/jetstream/objectstore.js`) digests every chunk it puts or gets with the JavaScript
 * SHA-256 it bundles (`lib/nats-base-client/js-sha256.js`), on the event loop: for a processor's
 * 0.9 MB compressed checkpoint 13–28 ms of a quiet 2-core EPYC, and 30–60 ms under load, where it
 * was the largest part of the event loop's longest turns at a tenth of the bench load (it runs
 * between the messages of every partition, in 32 KiB slices). `node:crypto` does the same bytes
 * in about 1 ms, off the JavaScript heap.
 *
 * The Object Store looks the hasher up as `sha256.create()` on the bundled module's exports at
 * each put and get, so replacing `create` there swaps the hash for every Object Store of the
 * process; the digest is the same SHA-256, so objects stay readable by any client. Installed only
 * after a self-check: the native hasher must give the bundled one's digest, in the bundled one's
 * shape (an array of 32 numbers), on a test vector; a nats.js whose module is elsewhere or looks
 * different is left alone (and keeps working, only slower).
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';

interface Hasher {
  update(data: Uint8Array | string): Hasher;
  digest(): number[];
}
interface Sha256Module {
  sha256: { create(): Hasher };
}

/** Where nats.js 2.x keeps the SHA-256 its Object Store uses (its package has no `exports` map, so the path resolves). */
const BUNDLED = 'nats/lib/nats-base-client/js-sha256.js';

let installed: 'native' | 'bundled' | undefined;
let original: (() => Hasher) | undefined;

class NativeHasher implements Hasher {
  private readonly h = createHash('sha256');
  update(data: Uint8Array | string): Hasher {
    this.h.update(data);
    return this;
  }
  digest(): number[] {
    // The bundled hasher's shape: the Object Store base64-encodes it and compares it byte by byte.
    return Array.from(this.h.digest());
  }
}

function load(): Sha256Module | undefined {
  try {
    const mod = createRequire(import.meta.url)(BUNDLED) as Partial<Sha256Module>;
    return typeof mod.sha256?.create === 'function' ? (mod as Sha256Module) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Makes every nats.js Object Store of this process digest with `node:crypto` (idempotent).
 * Returns which hasher is in use: `bundled` when the self-check did not pass.
 */
export function useNativeObjectDigest(): 'native' | 'bundled' {
  if (installed) return installed;
  const mod = load();
  if (!mod) return (installed = 'bundled');
  const probe = new Uint8Array(200_000).map((_, i) => (i * 31 + 7) & 0xff);
  const want = mod.sha256.create().update(probe.subarray(0, 70_001)).update(probe.subarray(70_001)).digest();
  const got = new NativeHasher().update(probe.subarray(0, 70_001)).update(probe.subarray(70_001)).digest();
  if (!Array.isArray(want) || want.length !== 32 || want.some((b, i) => b !== got[i])) return (installed = 'bundled');
  original = mod.sha256.create;
  mod.sha256.create = () => new NativeHasher();
  return (installed = 'native');
}

/** Puts the bundled hasher back (tests: to read what the native one wrote with the library's own). */
export function useBundledObjectDigest(): void {
  const mod = load();
  if (mod && original) mod.sha256.create = original;
  original = undefined;
  installed = undefined;
}
