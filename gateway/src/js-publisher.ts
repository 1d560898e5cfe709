import { createInbox, headers as natsHeaders, type MsgHdrs, type NatsConnection, type PubAck, type Subscription } from 'nats';

interface Waiter {
  resolve: (ack: PubAck) => void;
  reject: (err: Error) => void;
  deadline: number;
}

/** JetStream refused or did not answer a publish; `errCode` is JetStream's error code when it refused. */
export class PublishError extends Error {
  override readonly name = 'PublishError';
  constructor(
    message: string,
    readonly errCode?: number,
  ) {
    super(message);
  }
}

/**
 * JetStream publish with acks, pipelined: `nc.publish` with a reply subject under one wildcard
 * inbox, acks matched by token, one coarse timer for all timeouts. Same wire protocol as
 * `js.publish` (PubAck JSON on the reply), but without its per-message request object, timer,
 * promise pair and `Error` allocations, which dominated the gateway's CPU profile.
 */
export class JetStreamPublisher {
  private readonly prefix: string;
  private readonly sub: Subscription;
  private readonly waiting = new Map<string, Waiter>();
  private next = 0;
  private readonly sweep: NodeJS.Timeout;

  constructor(
    private readonly nc: NatsConnection,
    private readonly timeoutMs: number,
  ) {
    this.prefix = `${createInbox()}.`;
    this.sub = nc.subscribe(`${this.prefix}*`, {
      callback: (err, msg) => {
        if (err) return;
        const token = msg.subject.slice(this.prefix.length);
        const w = this.waiting.get(token);
        if (!w) return; // timed out already; a late ack of a message re-sent under a new token
        this.waiting.delete(token);
        // No stream listens (status 503) or another status without a body.
        if (msg.headers?.hasError || msg.data.length === 0) {
          return w.reject(new PublishError(`JetStream publish failed: ${msg.headers?.code ?? ''} ${msg.headers?.description ?? 'no response'}`.trim()));
        }
        let ack: PubAck & { error?: { code: number; err_code?: number; description: string } };
        try {
          ack = JSON.parse(Buffer.from(msg.data).toString('utf8')) as typeof ack;
        } catch {
          return w.reject(new PublishError('JetStream PubAck is not JSON'));
        }
        if (ack.error) return w.reject(new PublishError(`JetStream refused the message: ${ack.error.code} ${ack.error.description}`, ack.error.err_code));
        ack.duplicate = ack.duplicate ?? false;
        w.resolve(ack);
      },
    });
    // Deadlines grow in insertion order (one fixed timeout), so the sweep stops at the first live one.
    this.sweep = setInterval(() => {
      const now = performance.now();
      for (const [token, w] of this.waiting) {
        if (w.deadline > now) break;
        this.waiting.delete(token);
        w.reject(new PublishError(`no JetStream ack within ${this.timeoutMs} ms`));
      }
    }, Math.min(250, timeoutMs));
    this.sweep.unref();
  }

  publish(subject: string, payload: Uint8Array, msgID?: string, hdrs?: MsgHdrs): Promise<PubAck> {
    const h = hdrs ?? natsHeaders();
    if (msgID) h.set('Nats-Msg-Id', msgID);
    const token = (this.next++).toString(36);
    return new Promise<PubAck>((resolve, reject) => {
      this.waiting.set(token, { resolve, reject, deadline: performance.now() + this.timeoutMs });
      try {
        this.nc.publish(subject, payload, { reply: `${this.prefix}${token}`, headers: h });
      } catch (err) {
        this.waiting.delete(token);
        reject(err as Error);
      }
    });
  }

  close(): void {
    clearInterval(this.sweep);
    this.sub.unsubscribe();
    for (const w of this.waiting.values()) w.reject(new PublishError('publisher closed'));
    this.waiting.clear();
  }
}
