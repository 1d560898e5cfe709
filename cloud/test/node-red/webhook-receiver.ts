import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface WebhookCall {
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

/** A real HTTP server standing in for an operator's webhook endpoint; records every call. */
export class WebhookReceiver {
  readonly calls: WebhookCall[] = [];
  /** Answer the next N calls with 500, to exercise nak and redelivery. */
  failNext = 0;

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(): Promise<WebhookReceiver> {
    let receiver: WebhookReceiver | undefined;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // not JSON: keep the text
        }
        receiver!.calls.push({ path: req.url ?? '', headers: req.headers, body });
        const fail = receiver!.failNext > 0;
        if (fail) receiver!.failNext--;
        res.writeHead(fail ? 500 : 200, { 'content-type': 'text/plain' }).end(fail ? 'try again' : 'ok');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    receiver = new WebhookReceiver(server, `http://127.0.0.1:${port}`);
    return receiver;
  }

  /** Calls whose JSON body has `id` (alert calls). */
  callsFor(id: string): WebhookCall[] {
    return this.calls.filter((c) => typeof c.body === 'object' && c.body !== null && (c.body as { id?: unknown }).id === id);
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }
}
