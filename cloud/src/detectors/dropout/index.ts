import { z } from 'zod';
import { registerDetector } from '../registry.js';
import { plainState } from '../state-codec.js';
import type { Detector } from '../types.js';

/** The silence itself is defined by the session windows (`windows.gapMs`, `windows.deviceSilenceMs`). */
export const dropoutParams = z.object({}).strict();

interface State {
  /** Event time the sensor fell silent; NaN while it reports. */
  since: number;
}

function create(): Detector<State> {
  const init = (): State => ({ since: NaN });
  return {
    ...plainState('dropout', 1, init, ['since']),
    init,
    update(s) {
      s.since = NaN;
      return { score: 0, active: false };
    },
    onSilence(s, ts) {
      s.since = ts;
      return { score: 1, active: true };
    },
    describe: (s, v) => (Number.isNaN(s.since) ? `sensor reporting again (value ${v})` : `sensor silent since ${new Date(s.since).toISOString()}`),
  };
}

registerDetector({ type: 'dropout', params: dropoutParams, create });
