// One well-formed frame per line driver, carrying `temp` = v, and the port options it needs:
// the known-good input fuzz tests put after (or beside) hostile bytes.
import { nmeaChecksum } from '../src/drivers/nmea/index.js';

export interface LineSample {
  /** Port `options` for the driver. */
  options: Record<string, unknown>;
  /** A complete frame (with its terminator) whose `temp` channel is `v`. */
  line(v: number): string;
}

const xdr = (v: number): string => `WIXDR,C,${v},C,temp`;

export const LINE_SAMPLES: Record<string, LineSample> = {
  'text-kv': { options: {}, line: (v) => `temp=${v}\r\n` },
  csv: { options: { columns: ['temp'] }, line: (v) => `${v}\r\n` },
  jsonl: { options: {}, line: (v) => `{"temp":${v}}\n` },
  nmea: { options: {}, line: (v) => `$${xdr(v)}*${nmeaChecksum(xdr(v))}\r\n` },
};
