import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findBinary, ManagedProcess, tempDir } from '@fieldline/runtime/process';
import { freePort, startOnFreePorts } from './util.js';

export interface NatsOptions {
  /** Client port. @default a free loopback port */
  port?: number;
  /** JetStream store dir. @default a temp dir removed at cleanup */
  storeDir?: string;
  /** Server name (JetStream needs unique names in a cluster). @default `fl-{port}` */
  serverName?: string;
  /** Extra nats-server config text appended verbatim (cluster, accounts, limits…). */
  extraConfig?: string;
  /** Out of the terminal's process group (ManagedProcessOptions.ownProcessGroup). @default false */
  ownProcessGroup?: boolean;
}

/** A real nats-server with JetStream on loopback. `stop()` + `start()` keeps port and store. */
export class NatsServer extends ManagedProcess {
  readonly url: string;

  private constructor(
    readonly port: number,
    readonly monitorPort: number,
    readonly storeDir: string,
    readonly configFile: string,
    ownProcessGroup = false,
  ) {
    super({
      name: `nats-server:${port}`,
      ownProcessGroup,
      command: findBinary('nats-server', 'nats-server'),
      args: ['-c', configFile],
      ready: (out) => out.includes('Server is ready'),
    });
    this.url = `nats://127.0.0.1:${port}`;
  }

  static async start(opts: NatsOptions = {}): Promise<NatsServer> {
    return startOnFreePorts(opts.port, () => NatsServer.startOnce(opts));
  }

  private static async startOnce(opts: NatsOptions): Promise<NatsServer> {
    const dir = tempDir('nats');
    const port = opts.port ?? (await freePort());
    const monitorPort = await freePort();
    const storeDir = opts.storeDir ?? join(dir, 'js');
    const configFile = join(dir, 'nats.conf');
    writeFileSync(
      configFile,
      [
        `listen: "127.0.0.1:${port}"`,
        `http: "127.0.0.1:${monitorPort}"`,
        `server_name: "${opts.serverName ?? `fl-${port}`}"`,
        `jetstream { store_dir: "${storeDir}" }`,
        opts.extraConfig ?? '',
      ].join('\n'),
    );
    const server = new NatsServer(port, monitorPort, storeDir, configFile, opts.ownProcessGroup);
    await server.start();
    return server;
  }
}
