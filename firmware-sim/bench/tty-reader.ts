/**
 * The edge's side for the benchmark, in its own process so its CPU is not counted as the
 * simulator's: opens every tty path given on argv and counts bytes and lines.
 */
import { constants, openSync } from 'node:fs';
import { ReadStream } from 'node:tty';

let bytes = 0;
let lines = 0;
for (const path of process.argv.slice(2)) {
  const stream = new ReadStream(openSync(path, constants.O_RDONLY | constants.O_NOCTTY | constants.O_NONBLOCK));
  stream.on('data', (chunk: Buffer | string) => {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk;
    bytes += buf.length;
    for (const b of buf) if (b === 0x0a) lines++;
  });
  stream.on('error', () => {});
}
process.on('message', () => process.send?.({ bytes, lines }));
process.send?.({ ready: true });
