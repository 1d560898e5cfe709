import { z } from 'zod';
import { ID_PATTERN } from '@fieldline/contract';
import { FrameError } from '../../errors.js';
import { parseBoardTs, parseValue } from '../parse-util.js';
import { registerDriver } from '../registry.js';
import type { Frame, LineDriverSpec } from '../types.js';

export const csvOptions = z
  .object({
    /** Channel name of each value column, in order. */
    columns: z.array(z.string().regex(ID_PATTERN, 'channel names must match [a-z0-9][a-z0-9_-]{0,62}')).min(1),
    /** The first column is the board time (epoch ms). @default false */
    timeColumn: z.boolean().default(false),
    /** @default "," */
    separator: z.string().length(1).default(','),
  })
  .strict();

/** `21.53,45.20\r\n` or `1700000000000,21.53,45.20\r\n`: columns mapped by index (the text-kv variant). */
export const csv: LineDriverSpec<z.infer<typeof csvOptions>> = {
  id: 'csv',
  kind: 'line',
  summary: 'ASCII comma-separated values, columns named in config, optional leading time column',
  options: csvOptions,
  create: ({ columns, timeColumn, separator }) => {
    const width = columns.length + (timeColumn ? 1 : 0);
    return (line) => {
      const cells = line.split(separator);
      if (cells.length !== width) throw new FrameError('bad_syntax', `expected ${width} columns, got ${cells.length}`);
      const frame: Frame = { values: [] };
      let i = 0;
      if (timeColumn) frame.boardTs = parseBoardTs(cells[i++]!.trim(), 'column 0 (time)');
      for (const name of columns) frame.values.push([name, parseValue(cells[i]!.trim(), `column ${i++} (${name})`)]);
      return frame;
    };
  },
};

registerDriver(csv);
