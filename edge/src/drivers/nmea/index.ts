import { z } from 'zod';
import { FrameError } from '../../errors.js';
import { checkChannel, parseValue, show } from '../parse-util.js';
import { registerDriver } from '../registry.js';
import type { Frame, LineDriverSpec } from '../types.js';

export const nmeaOptions = z.object({}).strict();

const SENTENCE = /^\$([A-Z]{2})XDR,(.*)\*([0-9A-F]{2})$/;

/** XOR of every byte between `$` and `*` (NMEA 0183 §5.2.1). */
export function nmeaChecksum(body: string): string {
  let cs = 0;
  for (let i = 0; i < body.length; i++) cs ^= body.charCodeAt(i);
  return cs.toString(16).toUpperCase().padStart(2, '0');
}

/** `$WIXDR,C,21.53,C,temp,H,45.20,P,hum*hh`: transducer quadruplets type,value,unit,name. */
export const nmea: LineDriverSpec<z.infer<typeof nmeaOptions>> = {
  id: 'nmea',
  kind: 'line',
  summary: 'NMEA 0183 XDR sentences with XOR checksum',
  options: nmeaOptions,
  startByte: 0x24,
  create: () => (line) => {
    const star = line.lastIndexOf('*');
    if (!line.startsWith('$') || star < 0) throw new FrameError('bad_checksum', `${show(line)} has no $…*hh checksum`);
    const m = SENTENCE.exec(line);
    if (!m) {
      if (!/\*[0-9A-F]{2}$/.test(line)) throw new FrameError('bad_checksum', `${show(line)}: checksum must be two upper-case hex digits`);
      throw new FrameError('bad_syntax', `${show(line)} is not an XDR sentence`);
    }
    const expected = nmeaChecksum(line.slice(1, star));
    if (m[3] !== expected) throw new FrameError('bad_checksum', `checksum ${m[3]} does not match ${expected}`);
    const fields = m[2]!.split(',');
    if (fields.length % 4 !== 0) throw new FrameError('bad_syntax', `XDR needs type,value,unit,name groups; got ${fields.length} fields`);
    const frame: Frame = { values: [] };
    for (let i = 0; i < fields.length; i += 4) {
      const name = checkChannel(fields[i + 3]!);
      frame.values.push([name, parseValue(fields[i + 1]!, name)]);
    }
    return frame;
  },
};

registerDriver(nmea);
