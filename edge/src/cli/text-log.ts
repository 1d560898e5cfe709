import pino, { type Logger } from 'pino';

/**
 * A pino logger that writes one readable line per record (`port: message (details)`) to stderr,
 * for the interactive commands (`test`, `probe`): the service itself logs JSON.
 */
export function textLogger(level: pino.Level = 'info', out: NodeJS.WritableStream = process.stderr): Logger {
  return pino(
    { level, base: undefined, timestamp: false },
    {
      write(line: string): void {
        const { msg, level: _l, port, component: _c, driver: _d, ...rest } = JSON.parse(line) as Record<string, unknown>;
        const details = Object.entries(rest).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
        out.write(`${port ? `${String(port)}: ` : ''}${String(msg)}${details.length ? ` (${details.join(', ')})` : ''}\n`);
      },
    },
  );
}
