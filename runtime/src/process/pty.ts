import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ManagedProcess } from './managed-process.js';
import { findBinary, tempDir } from './util.js';

export interface PtyPairOptions {
  /** Dir for the two stable symlinks (like `/dev/serial/by-id`). @default a temp dir */
  dir?: string;
  /** Symlink names. @default `device` (the sensor's side) and `host` (the agent's side) */
  names?: [string, string];
}

/**
 * A virtual serial cable: two real ptys joined by socat. The sensor writes to `devicePath`; the
 * agent opens `hostPath` with serialport like a USB adapter. Both are stable symlinks, so
 * `unplug()` + `replug()` behaves like pulling the adapter and plugging it back in.
 */
export class PtyPair {
  readonly devicePath: string;
  readonly hostPath: string;
  private readonly proc: ManagedProcess;

  private constructor(dir: string, names: [string, string]) {
    this.devicePath = join(dir, names[0]);
    this.hostPath = join(dir, names[1]);
    this.proc = new ManagedProcess({
      name: `socat:${this.hostPath}`,
      command: findBinary('socat', 'socat'),
      args: ['-d', '-d', `pty,raw,echo=0,link=${this.devicePath}`, `pty,raw,echo=0,link=${this.hostPath}`],
      ready: (out) => out.includes('starting data transfer loop') && existsSync(this.devicePath) && existsSync(this.hostPath),
    });
  }

  static async create(opts: PtyPairOptions = {}): Promise<PtyPair> {
    const pair = new PtyPair(opts.dir ?? tempDir('pty'), opts.names ?? ['device', 'host']);
    await pair.proc.start();
    return pair;
  }

  get connected(): boolean {
    return this.proc.running;
  }

  /** The cable is pulled: both ptys vanish, open handles get EIO/close. */
  async unplug(): Promise<void> {
    await this.proc.stop('SIGKILL');
    // socat cannot remove its links when killed; a stale link could point at a /dev/pts number
    // the kernel hands out again (even to the other end after replug), so remove them here.
    rmSync(this.devicePath, { force: true });
    rmSync(this.hostPath, { force: true });
  }

  /** Plugged back in: new ptys behind the same symlink paths. */
  replug(): Promise<void> {
    return this.proc.start();
  }

  close(): Promise<void> {
    return this.proc.stop();
  }
}
