import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  from: string;
  to: string[];
  /** The whole message as sent (headers and body). */
  raw: string;
}

/** A real SMTP server (smtp-server, from the nodemailer project) on loopback; keeps every mail. */
export class MailReceiver {
  readonly mails: ReceivedMail[] = [];
  /** Refuse the next N messages with 451, to exercise nak and redelivery. */
  failNext = 0;

  private constructor(
    private readonly server: SMTPServer,
    readonly port: number,
  ) {}

  static async start(): Promise<MailReceiver> {
    let receiver: MailReceiver | undefined;
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onData(stream, session, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          if (receiver!.failNext > 0) {
            receiver!.failNext--;
            return callback(Object.assign(new Error('mailbox busy, try later'), { responseCode: 451 }));
          }
          const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
          receiver!.mails.push({ from, to: session.envelope.rcptTo.map((r) => r.address), raw: Buffer.concat(chunks).toString('utf8') });
          callback();
        });
      },
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    receiver = new MailReceiver(server, (server.server.address() as AddressInfo).port);
    return receiver;
  }

  close(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }
}
