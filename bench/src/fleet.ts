import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { FleetResult } from '@fieldline/firmware-sim';
import { onCleanup } from '@fieldline/harness';
import type { FleetRun } from './fleet-process.js';

export type { FleetRun };

export interface FleetRunResult extends FleetResult {
  /** Wall time (epoch ms) of the runFleet call: before connecting. */
  calledAtMs: number;
  /** Wall time of the first publish. */
  publishingAtMs: number;
  /** Wall time the run returned (every PUBACK in, or the drain timeout). */
  doneAtMs: number;
}

const ENTRY = fileURLToPath(new URL('./fleet-process.ts', import.meta.url));

/**
 * A fleet child process running `runs` one after another. `onEvent` sees each run start and start
 * publishing (the sweep starts its probe then); `done` resolves with every run's result.
 */
export class FleetProcess {
  readonly done: Promise<FleetRunResult[]>;
  private readonly child;

  constructor(runs: FleetRun[], opts: { password?: string; onEvent?: (event: 'start' | 'publishing' | 'done', i: number, atMs: number) => void } = {}) {
    this.child = spawn(process.execPath, ['--conditions=fieldline-src', '--import', 'tsx', ENTRY, JSON.stringify(runs)], {
      env: { ...process.env, ...(opts.password ? { FL_BENCH_PASSWORD: opts.password } : {}) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const unregister = onCleanup(() => this.child.kill('SIGKILL'));
    let stderr = '';
    this.child.stderr.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-8192)));
    const results: FleetRunResult[] = [];
    const partial = new Map<number, { calledAtMs: number; publishingAtMs: number }>();
    createInterface({ input: this.child.stdout }).on('line', (line) => {
      let e: { event: 'start' | 'publishing' | 'done'; i: number; atMs: number; result?: FleetResult };
      try {
        e = JSON.parse(line) as typeof e;
      } catch {
        return; // not ours (a stray log line)
      }
      const p = partial.get(e.i) ?? { calledAtMs: e.atMs, publishingAtMs: e.atMs };
      if (e.event === 'start') p.calledAtMs = p.publishingAtMs = e.atMs;
      if (e.event === 'publishing') p.publishingAtMs = e.atMs;
      partial.set(e.i, p);
      if (e.event === 'done' && e.result) results[e.i] = { ...e.result, ...p, doneAtMs: e.atMs };
      opts.onEvent?.(e.event, e.i, e.atMs);
    });
    this.done = new Promise((resolve, reject) => {
      this.child.once('exit', (code, signal) => {
        unregister();
        if (code === 0 && results.length === runs.length) resolve(results);
        else reject(new Error(`the fleet process ended with ${code ?? signal} after ${results.length} of ${runs.length} runs:\n${stderr}`));
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }
}

/** One fleet run in its own process. */
export async function runFleetProcess(run: FleetRun, opts: { password?: string; onEvent?: (event: 'start' | 'publishing' | 'done', i: number, atMs: number) => void; onPid?: (pid: number | undefined) => void } = {}): Promise<FleetRunResult> {
  const p = new FleetProcess([run], opts);
  opts.onPid?.(p.pid);
  return (await p.done)[0]!;
}
