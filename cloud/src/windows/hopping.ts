import { TumblingAssigner } from './tumbling.js';

/**
 * Hopping windows ("sliding with a hop"): windows of `size` starting every `hop`, so each reading
 * is in `size / hop` of them. `size` must be a multiple of `hop`: a window is then the union of
 * `size / hop` consecutive panes (tumbling windows of `hop`), and the state keeps one aggregate
 * per pane whatever the overlap; a window's aggregate is the merge of its panes. Starts are
 * epoch-aligned (UTC), as for tumbling windows; `hop === size` is a tumbling window.
 */
export class HoppingAssigner {
  /** The panes: tumbling windows of `hop`. */
  readonly panes: TumblingAssigner;
  /** Panes per window. */
  readonly span: number;

  constructor(
    readonly size: number,
    readonly hop: number,
    readonly offset = 0,
  ) {
    if (!(Number.isSafeInteger(hop) && hop > 0)) throw new RangeError(`hop must be a positive whole number of ms, got ${hop}`);
    if (!(Number.isSafeInteger(size) && size >= hop && size % hop === 0)) throw new RangeError(`window size must be a multiple of the hop (${hop} ms), got ${size}`);
    this.panes = new TumblingAssigner(hop, offset % hop);
    this.span = size / hop;
  }

  static tumbling(size: number, offset = 0): HoppingAssigner {
    return new HoppingAssigner(size, size, offset);
  }

  /** Start of the pane holding `ts`. */
  paneOf(ts: number): number {
    return this.panes.startOf(ts);
  }

  /** First (oldest) window start holding `ts`; the others follow every `hop` up to `paneOf(ts)`. */
  firstStartOf(ts: number): number {
    return this.paneOf(ts) - this.size + this.hop;
  }
}
