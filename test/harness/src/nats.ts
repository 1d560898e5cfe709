import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ManagedProcess } from './process.js';
import { findBinary, freePort, tempDir } from './util.js';

export interface NatsOptions {
  /** Client port. @default a free loopback port */
  port?: number;
  /** JetStream store dir. @default a temp dir removed at cleanup */
  storeDir?: string;
  /** Server name (JetStream needs unique names in a cluster). @default `fl-{port}` */
  serverName?: string;
  /** Extra nats-server config text appended verbatim (cluster, accounts, limits…). */
  extraConfig?: string;
}

/** A real nats-server with JetStream on loopback. `stop()` + `start()` keeps port and store. */
export class NatsServer {
  readonly url: string;
  readonly configFile: string;
  private readonly proc: ManagedProcess;

  private constructor(
    readonly port: number,
    readonly monitorPort: number,
    readonly storeDir: string,
    dir: string,
    opts: NatsOptions,
  ) {
    this.url = `nats://127.0.0.1:${port}`;
    this.configFile = join(dir, 'nats.conf');
    writeFileSync(
      this.configFile,
      [
        `listen: "127.0.0.1:${port}"`,
        `http: "127.0.0.1:${monitorPort}"`,
        `server_name: "${opts.serverName ?? `fl-${port}`}"`,
        `jetstream { store_dir: "${storeDir}" }`,
        opts.extraConfig ?? '',
      ].join('\n'),
    );
    this.proc = new ManagedProcess({
      name: `nats-server:${port}`,
      command: findBinary('nats-server', 'nats-server'),
      args: ['-c', this.configFile],
      ready: (out) => out.includes('Server is ready'),
    });
  }

  static async start(opts: NatsOptions = {}): Promise<NatsServer> {
    const dir = tempDir('nats');
    const port = opts.port ?? (await freePort());
    const server = new NatsServer(port, await freePort(), opts.storeDir ?? join(dir, 'js'), dir, opts);
    await server.start();
    return server;
  }

  get running(): boolean {
    return this.proc.running;
  }

  /** The server's pid while it runs (for SIGSTOP/SIGCONT fault tests). */
  get pid(): number | undefined {
    return this.proc.pid;
  }

  get log(): string {
    return this.proc.log;
  }

  start(): Promise<void> {
    return this.proc.start();
  }

  /** Graceful stop (SIGTERM): JetStream flushes. */
  stop(): Promise<void> {
    return this.proc.stop();
  }

  /** `kill -9`. */
  kill(): Promise<void> {
    return this.proc.kill();
  }
}
