import { z } from 'zod';
import { FrameError } from '../../errors.js';
import { checkChannel, parseBoardTs, parseValue, show } from '../parse-util.js';
import { registerDriver } from '../registry.js';
import type { Frame, LineDriverSpec } from '../types.js';

export const textKvOptions = z
  .object({
    /** Separates `key=value` pairs. @default "," */
    separator: z.string().length(1).default(','),
    /** Key holding the board time (epoch ms). @default "ts" */
    timeKey: z.string().min(1).default('ts'),
  })
  .strict();

/** `temp=21.53,hum=45.20\r\n`, optionally with `ts=<epoch ms>` (docs/serial-protocols.md). */
export const textKv: LineDriverSpec<z.infer<typeof textKvOptions>> = {
  id: 'text-kv',
  kind: 'line',
  summary: 'ASCII key=value lines, e.g. temp=21.53,hum=45.20',
  options: textKvOptions,
  create: ({ separator, timeKey }) => (line) => {
    const frame: Frame = { values: [] };
    for (const pair of line.split(separator)) {
      const eq = pair.indexOf('=');
      if (eq <= 0) throw new FrameError('bad_syntax', `${show(pair)} is not key=value`);
      const key = pair.slice(0, eq).trim();
      const text = pair.slice(eq + 1).trim();
      if (key === timeKey) frame.boardTs = parseBoardTs(text, key);
      else frame.values.push([checkChannel(key), parseValue(text, key)]);
    }
    return frame;
  },
};

registerDriver(textKv);
