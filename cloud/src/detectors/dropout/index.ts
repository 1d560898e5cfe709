import { z } from 'zod';
import { registerDetector } from '../registry.js';
import type { Detector } from '../types.js';

/** The silence itself is defined by the session windows (`windows.gapMs`, `windows.deviceSilenceMs`). */
export const dropoutParams = z.object({}).strict();

interface State {
  silent: boolean;
}

function create(): Detector<State> {
  return {
    init: () => ({ silent: false }),
    update(s, _ts, v) {
      s.silent = false;
      return { score: 0, active: false, message: `sensor reporting again (value ${v})` };
    },
    onSilence(s, ts) {
      s.silent = true;
      return { score: 1, active: true, message: `sensor silent since ${new Date(ts).toISOString()}` };
    },
  };
}

registerDetector({ type: 'dropout', params: dropoutParams, create });
