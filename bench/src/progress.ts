/**
 * Progress on stderr while the bench runs (stdout keeps the tables and the final JSON line): one
 * line per step, and a status line that a terminal rewrites in place (elsewhere, one every 5 s).
 */
const started = performance.now();
const tty = process.stderr.isTTY === true;
let statusShown = false;
let lastStatusAt = 0;

const stamp = (): string => `[${((performance.now() - started) / 1000).toFixed(1).padStart(6)}s]`;

export function say(line: string): void {
  if (statusShown) process.stderr.write('\r\x1b[2K');
  statusShown = false;
  process.stderr.write(`${stamp()} ${line}\n`);
}

export function status(line: string): void {
  if (tty) {
    process.stderr.write(`\r\x1b[2K${stamp()} ${line.slice(0, (process.stderr.columns ?? 120) - 12)}`);
    statusShown = true;
  } else if (performance.now() - lastStatusAt >= 5000) {
    lastStatusAt = performance.now();
    process.stderr.write(`${stamp()} ${line}\n`);
  }
}

export const elapsedS = (): number => (performance.now() - started) / 1000;

/** 1234567 -> "1.23M", 45210 -> "45.2k". */
export function si(n: number): string {
  const a = Math.abs(n);
  if (a >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (a >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  if (a >= 1e3) return `${(n / 1e3).toFixed(2)}k`;
  return `${Math.round(n)}`;
}
