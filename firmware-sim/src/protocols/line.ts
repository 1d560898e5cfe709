import type { BoardPlan } from '../plan.js';
import { encodeXdr, type XdrField } from './nmea.js';

const NMEA_DEFAULTS: Record<string, [string, string]> = { temperature: ['C', 'C'], humidity: ['H', 'P'] };

/**
 * The frame a line-protocol board sends at tick k (docs/serial-protocols.md), or `null` when
 * every channel is in a dropout (the board is silent). Channels in a dropout are left out.
 */
export function encodeLineFrame(plan: BoardPlan, k: number): string | null {
  const values = plan.values(k);
  if (values.every((v) => v === null)) return null;
  const b = plan.board;
  const ts = b.timestamps || plan.channels[0]!.replay ? plan.boardTs(k) : undefined;
  const present: [string, string][] = [];
  values.forEach((v, ci) => {
    if (v !== null) present.push([plan.channels[ci]!.channel.name, plan.format(ci, k, v)]);
  });
  switch (b.protocol) {
    case 'text-kv':
      return `${ts !== undefined ? `ts=${ts},` : ''}${present.map(([n, v]) => `${n}=${v}`).join(',')}\r\n`;
    case 'csv':
      // Columns are mapped by index, so a csv board only ever drops out as a whole (scenario check).
      return `${ts !== undefined ? `${ts},` : ''}${present.map(([, v]) => v).join(',')}\r\n`;
    case 'jsonl':
      return `{${ts !== undefined ? `"ts":${ts},` : ''}${present.map(([n, v]) => `"${n}":${v}`).join(',')}}\n`;
    case 'nmea': {
      const fields: XdrField[] = [];
      values.forEach((v, ci) => {
        if (v === null) return;
        const ch = plan.channels[ci]!.channel;
        const [type, unit] = NMEA_DEFAULTS[ch.model] ?? ['G', ''];
        fields.push({ type: ch.nmeaType ?? type, value: plan.format(ci, k, v), unit: ch.nmeaUnit ?? unit, name: ch.name });
      });
      return encodeXdr(b.talker, fields);
    }
    case 'modbus':
      throw new Error('modbus boards answer polls; they have no line frames');
  }
}
