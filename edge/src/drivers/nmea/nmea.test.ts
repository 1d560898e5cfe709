import { afterAll, describe, expect, it } from 'vitest';
import { cleanupAll } from '@fieldline/harness';
import { lineDriverConformance } from '../../../test/conformance.js';
import { nmeaChecksum } from './index.js';

afterAll(() => cleanupAll());

const sentence = (body: string): string => `$${body}*${nmeaChecksum(body)}\r\n`;

describe('nmea driver', () => {
  it('computes the NMEA 0183 XOR checksum', () => {
    expect(nmeaChecksum('WIXDR,C,21.53,C,temp')).toBe(
      [...'WIXDR,C,21.53,C,temp'].reduce((a, ch) => a ^ ch.charCodeAt(0), 0).toString(16).toUpperCase().padStart(2, '0'),
    );
  });

  it('passes the line-driver conformance suite on a real tty, with checksum errors and resync at $', async () => {
    const good = sentence('WIXDR,C,21.53,C,temp,H,45.20,P,hum');
    await lineDriverConformance({
      driver: 'nmea',
      channels: { temp: { sensor: 'temp', unit: 'C' }, hum: { sensor: 'hum', unit: '%' }, press: { sensor: 'press', unit: 'bar' } },
      good: [
        { frame: good, readings: [['temp', 21.53], ['hum', 45.2]] },
        // A frame cut off without terminator before the next `$`: the stub is garbage, the sentence counts.
        { frame: '$WIXDR,C,1' + sentence('WIXDR,P,1.013,B,press'), readings: [['press', 1.013]] },
      ],
      bad: [
        { frame: good.replace(/\*..\r\n$/, '*00\r\n'), reason: 'bad_checksum' },
        { frame: '$WIXDR,C,21.53,C,temp\r\n', reason: 'bad_checksum' },
        { frame: sentence('WIXDR,C,abc,C,temp'), reason: 'bad_value' },
        { frame: sentence('GPGGA,1,2'), reason: 'bad_syntax' },
        { frame: '', reason: 'garbage' },
      ],
    });
  });
});
