import { SerialPort } from 'serialport';
import { sleep } from '@fieldline/harness';

/** Reads everything that arrives on a tty (the edge's side), like the edge agent would. */
export interface TtyReader {
  bytes(): Buffer;
  lines(terminator?: string): string[];
  close(): Promise<void>;
  port: SerialPort;
}

export async function openReader(path: string): Promise<TtyReader> {
  const port = new SerialPort({ path, baudRate: 115_200, autoOpen: false });
  const chunks: Buffer[] = [];
  port.on('data', (c: Buffer) => chunks.push(c));
  port.on('error', () => {});
  await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
  const bytes = (): Buffer => Buffer.concat(chunks);
  return {
    port,
    bytes,
    lines: (terminator = '\r\n') => bytes().toString('latin1').split(terminator).filter((l) => l !== ''),
    close: () => new Promise<void>((r) => (port.isOpen ? port.close(() => r()) : r())),
  };
}

/** Waits until no more bytes arrive for `quietMs`. */
export async function settle(readers: TtyReader[], quietMs = 300, maxMs = 20_000): Promise<void> {
  const deadline = Date.now() + maxMs;
  let last = -1;
  for (;;) {
    const total = readers.reduce((n, r) => n + r.bytes().length, 0);
    if (total === last || Date.now() > deadline) return;
    last = total;
    await sleep(quietMs);
  }
}
