import { spawn, type ChildProcess } from 'node:child_process';
import { onCleanup } from './cleanup.js';
import { ServiceStartError } from './errors.js';

export interface ManagedProcessOptions {
  /** Name used in errors and logs. */
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Resolves truthy once the service is ready. Polled until `readyTimeoutMs`. */
  ready: (output: string) => boolean | Promise<boolean>;
  /** @default 20000 */
  readyTimeoutMs?: number;
  /** Bytes of output kept for error messages. @default 16384 */
  keepOutput?: number;
  /**
   * Its own process group: a terminal's Ctrl-C (SIGINT to the whole foreground group) does not
   * reach it, so a parent that handles the signal can stop it after what depends on it (the demo
   * stops the processor before InfluxDB). It is still stopped at exit like any other. @default false
   */
  ownProcessGroup?: boolean;
}

/** A child process that is always stopped: on `stop()`, at process exit, or on a signal. */
export class ManagedProcess {
  private child: ChildProcess | undefined;
  private output = '';
  private unregister: (() => void) | undefined;

  constructor(private readonly opts: ManagedProcessOptions) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The tail of the process's stdout and stderr. */
  get log(): string {
    return this.output;
  }

  async start(): Promise<void> {
    if (this.running) return;
    const { name, command, args, env, cwd, ready, readyTimeoutMs = 20_000, keepOutput = 16_384, ownProcessGroup = false } = this.opts;
    this.output = '';
    const child = spawn(command, args, { env: env ?? process.env, cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: ownProcessGroup });
    this.child = child;
    const append = (chunk: Buffer): void => {
      this.output = (this.output + chunk.toString('utf8')).slice(-keepOutput);
    };
    child.stdout?.on('data', append);
    child.stderr?.on('data', append);
    this.unregister = onCleanup(() => {
      if (this.running) child.kill('SIGKILL');
    });
    let spawnError: Error | undefined;
    child.once('error', (err) => (spawnError = err));
    const deadline = Date.now() + readyTimeoutMs;
    for (;;) {
      if (spawnError) throw new ServiceStartError(name, `could not start ${command}`, this.output, { cause: spawnError });
      if (!this.running) {
        throw new ServiceStartError(name, `exited with ${child.exitCode ?? child.signalCode} before it was ready`, this.output);
      }
      if (await Promise.resolve().then(() => ready(this.output)).catch(() => false)) return;
      if (Date.now() > deadline) {
        await this.stop();
        throw new ServiceStartError(name, `not ready after ${readyTimeoutMs} ms`, this.output);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Sends `signal` and waits for exit; escalates to SIGKILL after `graceMs`. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 5_000): Promise<void> {
    const child = this.child;
    this.unregister?.();
    this.unregister = undefined;
    if (!child || !this.running) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }

  /** `kill -9`: no chance to flush or clean up. */
  async kill(): Promise<void> {
    await this.stop('SIGKILL');
  }
}
