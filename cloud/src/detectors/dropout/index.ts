import { z } from 'zod';
import { registerDetector } from '../registry.js';
import { plainState } from '../state-codec.js';
import type { Detector, DetectorResult } from '../types.js';

/** The silence itself is defined by the session windows (`windows.gapMs`, `windows.deviceSilenceMs`). */
export const dropoutParams = z.object({}).strict();

interface State {
  /** Event time the sensor fell silent; NaN while it reports. */
  since: number;
}

// The pipeline only reads a result (before the next update), so the two answers are shared.
const REPORTING: DetectorResult = { score: 0, active: false };
const SILENT: DetectorResult = { score: 1, active: true };

function create(): Detector<State> {
  const init = (): State => ({ since: NaN });
  return {
    ...plainState('dropout', 1, init, ['since']),
    init,
    update(s) {
      s.since = NaN;
      return REPORTING;
    },
    onSilence(s, ts) {
      s.since = ts;
      return SILENT;
    },
    describe: (s, v) => (Number.isNaN(s.since) ? `sensor reporting again (value ${v})` : `sensor silent since ${new Date(s.since).toISOString()}`),
  };
}

registerDetector({ type: 'dropout', params: dropoutParams, create });
