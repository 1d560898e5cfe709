import { afterAll, describe, it } from 'vitest';
import { cleanupAll } from '@fieldline/harness';
import { lineDriverConformance } from '../../../test/conformance.js';

afterAll(() => cleanupAll());

describe('text-kv driver', () => {
  it('passes the line-driver conformance suite on a real tty', async () => {
    await lineDriverConformance({
      driver: 'text-kv',
      channels: { temp: { sensor: 'temp', unit: 'C' }, hum: { sensor: 'hum', scale: 0.01, offset: 1 } },
      good: [
        { frame: 'ts=1700000000000,temp=-1e1\r\n', readings: [['temp', -10]], boardTs: 1700000000000 },
        { frame: 'temp=21.53,hum=4520\r\n', readings: [['temp', 21.53], ['hum', 46.2]] },
      ],
      bad: [
        { frame: 'temp=21.5x\r\n', reason: 'bad_value' },
        { frame: 'temp\r\n', reason: 'bad_syntax' },
        { frame: 'Temp=1\r\n', reason: 'bad_channel' },
        { frame: 'ts=yesterday,temp=1\r\n', reason: 'bad_time' },
      ],
    });
  });
});
