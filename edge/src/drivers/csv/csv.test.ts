import { afterAll, describe, it } from 'vitest';
import { cleanupAll } from '@fieldline/harness';
import { lineDriverConformance } from '../../../test/conformance.js';

afterAll(() => cleanupAll());

describe('csv driver', () => {
  it('passes the line-driver conformance suite on a real tty (with a leading time column)', async () => {
    await lineDriverConformance({
      driver: 'csv',
      options: { columns: ['temp', 'hum'], timeColumn: true },
      channels: { temp: { sensor: 'temp', unit: 'C' }, hum: { sensor: 'hum', unit: '%' } },
      good: [
        { frame: '1700000000000,21.53,45.20\r\n', readings: [['temp', 21.53], ['hum', 45.2]], boardTs: 1700000000000 },
        { frame: '1700000001000,21.6,45\r\n', readings: [['temp', 21.6], ['hum', 45]] },
      ],
      bad: [
        { frame: '1700000002000,21.6\r\n', reason: 'bad_syntax' },
        { frame: '1700000002000,nan,1\r\n', reason: 'bad_value' },
        { frame: '-5,1,2\r\n', reason: 'bad_time' },
      ],
    });
  });
});
