/**
 * The one backoff formula and retry loop. Exponential from `baseMs`, capped at `maxMs`; with
 * jitter (the default) the wait is random in [cap/2, cap] so that a fleet reconnecting after an
 * outage spreads out; without it the waits are reproducible (the processor's writes).
 */
export interface BackoffOptions {
  /** First wait. */
  baseMs: number;
  /** Longest wait. */
  maxMs: number;
  /** Random wait in [cap/2, cap] instead of exactly cap. @default true */
  jitter?: boolean;
  /** @default Math.random */
  random?: () => number;
}

/** Wait before attempt `attempt + 1` (attempt 0 is the first retry). */
export function backoffDelay(attempt: number, o: BackoffOptions): number {
  const cap = Math.min(o.maxMs, o.baseMs * 2 ** Math.min(Math.max(0, attempt), 30));
  if (o.jitter === false) return cap;
  return Math.round(cap / 2 + ((o.random ?? Math.random)() * cap) / 2);
}

export interface RetryOptions extends BackoffOptions {
  /** Retries after the first attempt. @default Infinity */
  retries?: number;
  /** False stops retrying and rethrows this error. @default every error is retried */
  shouldRetry?: (err: unknown, attempt: number) => boolean;
  /** Called before each wait (count, log, keep a lease alive). */
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
  /** Stops retrying: the first attempt still runs (a last flush at shutdown), a failure after the abort is rethrown. */
  signal?: AbortSignal;
  /** For tests. @default setTimeout */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Runs `fn` until it resolves, retrying failures with {@link backoffDelay} waits. */
export async function retry<T>(fn: (attempt: number) => Promise<T>, o: RetryOptions): Promise<T> {
  const retries = o.retries ?? Infinity;
  const sleep = o.sleep ?? abortableSleep;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (attempt >= retries || o.signal?.aborted || (o.shouldRetry && !o.shouldRetry(err, attempt))) throw err;
      const delay = backoffDelay(attempt, o);
      o.onRetry?.(err, attempt, delay);
      await sleep(delay, o.signal);
      if (o.signal?.aborted) throw err;
    }
  }
}
