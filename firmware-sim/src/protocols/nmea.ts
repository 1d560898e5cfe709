/** NMEA 0183 §5.2.1: XOR of every byte between `$` and `*`, as two upper-case hex digits. */
export function nmeaChecksum(body: string): string {
  let cs = 0;
  for (let i = 0; i < body.length; i++) cs ^= body.charCodeAt(i);
  return cs.toString(16).toUpperCase().padStart(2, '0');
}

/** One XDR measurement: transducer type, value text, unit, name. */
export interface XdrField {
  type: string;
  value: string;
  unit: string;
  name: string;
}

/** `$<talker>XDR,<type>,<value>,<unit>,<name>[,…]*hh\r\n` (docs/serial-protocols.md). */
export function encodeXdr(talker: string, fields: XdrField[]): string {
  const body = `${talker}XDR,${fields.map((f) => `${f.type},${f.value},${f.unit},${f.name}`).join(',')}`;
  return `$${body}*${nmeaChecksum(body)}\r\n`;
}
