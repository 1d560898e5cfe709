import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, ManagedProcess, tempDir } from '@fieldline/harness';
import { stringify } from 'yaml';
import type { ProcessorConfigInput } from '../../src/processor/config.js';

const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));

/**
 * `fieldline-cloud processor` as a real child process (from source, through tsx), so that a test
 * can `kill -9` it: no chance to flush, checkpoint or release anything.
 */
export class ProcessorProcess extends ManagedProcess {
  private constructor(
    readonly name: string,
    readonly httpPort: number,
    file: string,
  ) {
    super({
      name,
      command: process.execPath,
      args: ['--conditions=fieldline-src', '--import', 'tsx', CLI, 'processor', '--config', file],
      keepOutput: 256 * 1024,
      readyTimeoutMs: 60_000,
      ready: async () => (await fetch(`http://127.0.0.1:${httpPort}/readyz`).catch(() => null))?.status === 200,
    });
  }

  /** Writes the config (an ops port of its own, logs at info on stdout) and starts the process. */
  static async start(name: string, config: ProcessorConfigInput): Promise<ProcessorProcess> {
    const httpPort = await freePort();
    const file = join(tempDir(`proc-${name}`), 'processor.yaml');
    writeFileSync(file, stringify({ ...config, http: { port: httpPort }, log: { level: 'info' } }));
    const p = new ProcessorProcess(name, httpPort, file);
    await p.start();
    return p;
  }

  async metrics(): Promise<string> {
    return (await fetch(`http://127.0.0.1:${this.httpPort}/metrics`)).text();
  }

  /** Partitions this process holds now (`fieldline_processor_partition_owned` = 1). */
  async owned(): Promise<number[]> {
    const text = await this.metrics().catch(() => '');
    return [...text.matchAll(/^fieldline_processor_partition_owned\{partition="(\d+)"\} 1$/gm)].map((m) => Number(m[1])).sort((a, b) => a - b);
  }

  /** Log lines (pino JSON) whose `msg` matches. */
  lines(msg: RegExp): Record<string, unknown>[] {
    return this.log
      .split('\n')
      .flatMap((l) => {
        try {
          return [JSON.parse(l) as Record<string, unknown>];
        } catch {
          return []; // the first, cut line of the kept tail
        }
      })
      .filter((l) => typeof l.msg === 'string' && msg.test(l.msg));
  }
}
