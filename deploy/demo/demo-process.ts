/**
 * `npm run demo` as a child process, driven the way a user drives it: wait for lines in its output,
 * read the dashboard address and the token it prints, and stop it with Ctrl-C (SIGINT to its whole
 * process group, as a terminal sends it). Not a ManagedProcess (runtime/process): that one is a
 * service started until ready and stopped by a signal to itself; this is a user's command tree
 * signalled as a group. It shares the last resort: a test that fails or times out still kills
 * the whole group at exit (runtime/process onCleanup).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { onCleanup } from '@fieldline/runtime/process';

const root = resolve(import.meta.dirname, '../..');
export const DEMO_HOME = join(root, '.fieldline-demo');

export class DemoProcess {
  out = '';
  private readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(private readonly child: ChildProcess) {
    child.stdout!.on('data', (b: Buffer) => (this.out += b.toString()));
    child.stderr!.on('data', (b: Buffer) => (this.out += b.toString()));
    // npm may exit before the demo under it has stopped: the group is killed at exit either way.
    onCleanup(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // the group is gone already
      }
    });
    this.exited = new Promise((r) => child.on('exit', (code, signal) => r({ code, signal })));
  }

  static start(args: string[] = []): DemoProcess {
    const child = spawn('npm', ['run', '-s', 'demo', '--', ...args], { cwd: root, env: { ...process.env, CI: 'true' }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    return new DemoProcess(child);
  }

  /** Resolves with the first match of `re` in the output; rejects after `timeoutMs` or if the demo exits. */
  async waitFor(re: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
    const deadline = Date.now() + timeoutMs;
    let exited = false;
    void this.exited.then(() => (exited = true));
    for (;;) {
      const m = re.exec(this.out);
      if (m) return m;
      if (exited) throw new Error(`the demo exited before ${re}:\n${this.out}`);
      if (Date.now() > deadline) throw new Error(`no ${re} in the demo's output after ${timeoutMs} ms:\n${this.out}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** The dashboard's address, as the demo prints it. */
  apiUrl(): string {
    const m = /dashboard \+ API\s+(http:\/\/\S+?)\/?\s/.exec(this.out);
    if (!m) throw new Error('the demo did not print the dashboard address');
    return m[1]!;
  }

  /** The `/metrics` addresses the demo prints, by service (gateway, processor, API ops). */
  metricsUrls(): Record<'gateway' | 'processor' | 'api', string> {
    const find = (line: RegExp): string => {
      const m = new RegExp(`${line.source}.*?metrics (http://\\S+/metrics)`, 'm').exec(this.out);
      if (!m) throw new Error(`the demo did not print the metrics address matching ${line}`);
      return m[1]!;
    };
    return { gateway: find(/^\s+gateway \(MQTT\)/), processor: find(/^\s+processor /), api: find(/^\s+API ops /) };
  }

  /** The query API token from the credentials file the demo writes. */
  token(): string {
    const m = /^query API token: (\S+)$/m.exec(readFileSync(join(DEMO_HOME, 'credentials.txt'), 'utf8'));
    if (!m) throw new Error('no query API token in the credentials file');
    return m[1]!;
  }

  /**
   * Ctrl-C: SIGINT to the demo's process group. Resolves true when the demo stopped cleanly: it
   * printed "all stopped." and exited 0 (npm itself may end by the signal, as in a terminal).
   */
  async interrupt(timeoutMs = 60_000): Promise<boolean> {
    process.kill(-this.child.pid!, 'SIGINT');
    const timer = setTimeout(() => process.kill(-this.child.pid!, 'SIGKILL'), timeoutMs);
    const { code, signal } = await this.exited;
    clearTimeout(timer);
    return this.out.includes('all stopped.') && (code === 0 || signal === 'SIGINT');
  }

  /** Log lines at level error or above that the demo's services wrote. */
  errorLogLines(): string[] {
    const lines: string[] = [];
    for (const part of ['gateway', 'processor', 'api', 'edge-gh-01', 'edge-gh-02']) {
      let text = '';
      try {
        text = readFileSync(join(DEMO_HOME, 'logs', `${part}.log`), 'utf8');
      } catch {
        continue;
      }
      for (const l of text.split('\n')) if (/"level":(50|60)/.test(l)) lines.push(`${part}: ${l}`);
    }
    return lines;
  }
}
