import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { parseAlert } from '@fieldline/contract';
import { freePort } from '@fieldline/harness';

/** `port` when it is free on 127.0.0.1 (the well-known one), else any free port. */
export function preferPort(port: number): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(freePort()));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(port)));
  });
}

/** A local HTTP receiver standing in for a chat/pager webhook: prints what Node-RED sends. */
export async function startWebhookPrinter(print: (summary: string) => void): Promise<{ url: string; close(): Promise<void> }> {
  const server = createHttpServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body = (body + c).slice(0, 64 * 1024)));
    req.on('end', () => {
      try {
        const a = parseAlert(body);
        print(`${a.severity} ${a.state} ${a.device}/${a.sensor} ${a.rule}: ${a.message}`);
      } catch {
        // Not an AlertEvent (the daily digest, or something broken): shown as it came.
        print(body.slice(0, 200));
      }
      res.writeHead(204).end();
    });
  });
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${port}/alerts`, close: () => new Promise<void>((r) => server.close(() => r())) };
}
