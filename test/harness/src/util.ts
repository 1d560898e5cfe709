import { createServer } from 'node:net';
import { settlesWithin } from '@fieldline/runtime/process';

/** A free TCP port on 127.0.0.1 (the OS picks it; the socket is closed before returning). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts a server on ports of our own choosing (`freePort`), retrying with new ones when another
 * process took a port before the server bound it (other test files run at the same time). A
 * caller's fixed port is not retried.
 */
export async function startOnFreePorts<T>(fixedPort: number | undefined, startOnce: () => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce();
    } catch (err) {
      if (fixedPort !== undefined || attempt >= attempts || !/address already in use/.test(String(err))) throw err;
    }
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until it returns a truthy value or `timeoutMs` passes. */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  { timeoutMs = 10_000, intervalMs = 50, what = 'condition' } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`, { cause: lastError });
    }
    await sleep(intervalMs);
  }
}

/**
 * Runs teardown steps in order, each bounded by `stepMs`. A step that fails or overruns is named in
 * the error thrown once all have run, and the steps after it still run, so servers are stopped
 * and temp dirs removed; a hung close reads `teardown: api.close did not finish in 15000 ms`
 * instead of a bare hook timeout.
 */
export async function teardown(steps: Record<string, () => unknown>, stepMs = 15_000): Promise<void> {
  const problems: string[] = [];
  const causes: unknown[] = [];
  for (const [name, step] of Object.entries(steps)) {
    let failed: unknown;
    const run = Promise.resolve()
      .then(step)
      .catch((err: unknown) => {
        failed = err ?? new Error('rejected');
      });
    if (!(await settlesWithin(run, stepMs))) problems.push(`${name} did not finish in ${stepMs} ms`);
    else if (failed !== undefined) {
      problems.push(`${name} failed: ${(failed as Error).message ?? String(failed)}`);
      causes.push(failed);
    }
  }
  if (problems.length) throw new Error(`teardown: ${problems.join('; ')}`, { cause: causes[0] });
}
