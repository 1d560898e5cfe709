import { afterAll, describe, it } from 'vitest';
import { cleanupAll } from '@fieldline/harness';
import { lineDriverConformance } from '../../../test/conformance.js';

afterAll(() => cleanupAll());

describe('jsonl driver', () => {
  it('passes the line-driver conformance suite on a real tty', async () => {
    await lineDriverConformance({
      driver: 'jsonl',
      channels: { temp: { sensor: 'temp', unit: 'C' }, hum: { sensor: 'hum' } },
      good: [
        { frame: '{"ts":1700000000000,"temp":21.53,"hum":45.2}\n', readings: [['temp', 21.53], ['hum', 45.2]], boardTs: 1700000000000 },
        { frame: '{"temp":22}\r\n', readings: [['temp', 22]] },
      ],
      bad: [
        { frame: '{"temp":"hot"}\n', reason: 'bad_value' },
        { frame: '{"temp":1\n', reason: 'bad_syntax' },
        { frame: '[1,2]\n', reason: 'bad_syntax' },
        { frame: '{"Bad Key":1}\n', reason: 'bad_channel' },
      ],
    });
  });
});
