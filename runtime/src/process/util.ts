import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { onCleanup } from './cleanup.js';
import { MissingBinaryError } from './errors.js';

// Debian puts nats-server and mosquitto in /usr/sbin, which a non-root PATH often lacks.
const EXTRA_DIRS = ['/usr/sbin', '/usr/local/sbin', '/sbin', '/usr/bin', '/usr/local/bin'];

/** Absolute path of `binary`, or a {@link MissingBinaryError} naming the Debian package. */
export function findBinary(binary: string, debianPackage: string): string {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), ...EXTRA_DIRS].filter(Boolean);
  for (const dir of dirs) {
    const candidate = join(dir, binary);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; keep looking
    }
  }
  throw new MissingBinaryError(binary, debianPackage);
}

/** A temp dir removed at cleanup (unless FIELDLINE_KEEP_TMP is set, for post-mortems). */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `fieldline-${prefix}-`));
  if (!process.env.FIELDLINE_KEEP_TMP) onCleanup(() => rmSync(dir, { recursive: true, force: true }), 'dir');
  return dir;
}
