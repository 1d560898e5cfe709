import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { EPOCH_PATTERN } from '@fieldline/contract';
import { EdgeStateError } from './errors.js';

// seq numbers are reserved in blocks so that a persisted write is needed only every SEQ_BLOCK batches;
// after a crash the unused rest of a block is skipped (seq stays strictly increasing, gaps are fine).
const SEQ_BLOCK = 1000;

interface StateFile {
  epoch: string;
  seqReserved: number;
}

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Writes a file so that after a crash it holds either the old or the new content. */
export function writeFileAtomic(path: string, data: string): void {
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    writeFileSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  fsyncDir(join(path, '..'));
}

/** `epoch` (created with the state dir) and the persisted, strictly increasing `seq` (ARCHITECTURE.md). */
export class EdgeState {
  readonly epoch: string;
  private seq: number;
  private reserved: number;

  private constructor(
    private readonly file: string,
    state: StateFile,
  ) {
    this.epoch = state.epoch;
    this.seq = state.seqReserved;
    this.reserved = state.seqReserved;
  }

  static open(stateDir: string): EdgeState {
    const file = join(stateDir, 'state.json');
    let state: StateFile;
    try {
      mkdirSync(stateDir, { recursive: true });
    } catch (err) {
      throw new EdgeStateError(`cannot create state dir ${stateDir}: ${(err as Error).message}`, { cause: err });
    }
    try {
      state = JSON.parse(readFileSync(file, 'utf8')) as StateFile;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new EdgeStateError(`state file ${file} is unreadable (remove it to start a new epoch): ${(err as Error).message}`, { cause: err });
      }
      state = { epoch: randomBytes(10).toString('hex'), seqReserved: 0 };
    }
    if (typeof state.epoch !== 'string' || !EPOCH_PATTERN.test(state.epoch) || !Number.isSafeInteger(state.seqReserved) || state.seqReserved < 0) {
      throw new EdgeStateError(`state file ${file} is corrupt (remove it to start a new epoch)`);
    }
    const s = new EdgeState(file, state);
    s.persist();
    return s;
  }

  /** Makes sure every seq handed out so far is above `seq` (recovered from the queue). */
  atLeast(seq: number): void {
    if (seq > this.seq) this.seq = seq;
  }

  /**
   * The next seq; reserves (and fsyncs) a new block first when the current one is used up. When
   * the reservation cannot be written (a full disk) it throws {@link EdgeStateError} and hands out
   * nothing: a seq beyond what is on disk could be handed out again after a crash.
   */
  nextSeq(): number {
    if (this.seq + 1 > this.reserved) this.persist(this.seq + 1);
    this.seq += 1;
    return this.seq;
  }

  private persist(from = this.seq): void {
    const reserved = from + SEQ_BLOCK;
    try {
      writeFileAtomic(this.file, JSON.stringify({ epoch: this.epoch, seqReserved: reserved }));
    } catch (err) {
      throw new EdgeStateError(`cannot write ${this.file}: ${(err as Error).message}`, { cause: err });
    }
    this.reserved = reserved;
  }
}
