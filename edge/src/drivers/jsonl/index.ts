import { z } from 'zod';
import { FrameError } from '../../errors.js';
import { checkChannel, parseBoardTs } from '../parse-util.js';
import { registerDriver } from '../registry.js';
import type { Frame, LineDriverSpec } from '../types.js';

export const jsonlOptions = z
  .object({
    /** Key holding the board time (epoch ms). @default "ts" */
    timeKey: z.string().min(1).default('ts'),
  })
  .strict();

/** One JSON object per line: `{"ts":1700000000000,"temp":21.53}`; numeric keys are channels. */
export const jsonl: LineDriverSpec<z.infer<typeof jsonlOptions>> = {
  id: 'jsonl',
  kind: 'line',
  summary: 'one JSON object per line; ts optional, other numeric keys are channels',
  options: jsonlOptions,
  create: ({ timeKey }) => (line) => {
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch (err) {
      throw new FrameError('bad_syntax', `not JSON (${(err as Error).message})`, { cause: err });
    }
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw new FrameError('bad_syntax', 'not a JSON object');
    const frame: Frame = { values: [] };
    for (const [key, value] of Object.entries(obj)) {
      if (key === timeKey) {
        frame.boardTs = parseBoardTs(value, key);
        continue;
      }
      checkChannel(key);
      if (typeof value !== 'number' || !Number.isFinite(value)) {
        throw new FrameError('bad_value', `${key}: ${JSON.stringify(value)?.slice(0, 40)} is not a number`);
      }
      frame.values.push([key, value]);
    }
    return frame;
  },
};

registerDriver(jsonl);
