// deploy/nats/nats.conf is run, not only read: three nats-server processes start from it on
// loopback (ports, host names and the store dir rewritten, nothing else), form the cluster, refuse
// a client without credentials, and a processor with deploy/nats/processor.yaml creates its
// streams and buckets with 3 replicas on it. nats-server here is 2.9.10, which does not know
// `sync_interval` (2.10+, required in production): only on an older server is that line dropped.
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { STREAMS } from '@fieldline/contract';
import { cleanupAll, findBinary, freePort, InfluxServer, ManagedProcess, startOnFreePorts, tempDir, waitFor } from '@fieldline/harness';
import { connect } from 'nats';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadProcessorConfig, startProcessor, type ProcessorConfigInput } from '@fieldline/cloud';

afterAll(() => cleanupAll());

const here = dirname(new URL(import.meta.url).pathname);
const conf = readFileSync(join(here, 'nats.conf'), 'utf8');
const nats = findBinary('nats-server', 'nats-server');
const run = promisify(execFile);
const SECRETS = { FL_NATS_GATEWAY_PASSWORD: 'gw-secret', FL_NATS_PROCESSOR_PASSWORD: 'proc-secret', FL_NATS_API_PASSWORD: 'api-secret', FL_NATS_NODE_RED_PASSWORD: 'nr-secret', FL_NATS_SYS_PASSWORD: 'sys-secret' };

async function serverVersion(): Promise<[number, number]> {
  const { stdout } = await run(nats, ['--version']);
  const m = /v(\d+)\.(\d+)/.exec(stdout)!;
  return [Number(m[1]), Number(m[2])];
}

interface Node {
  client: number;
  route: number;
  monitor: number;
  file: string;
}

/** The production file with loopback ports and a temp store, for node `i` of `nodes`. */
function localConfig(i: number, nodes: Node[], dropSync: boolean): string {
  const n = nodes[i]!;
  const replace = (text: string, from: string, to: string): string => {
    expect(text, `nats.conf has ${from}`).toContain(from);
    return text.replaceAll(from, to);
  };
  let text = conf;
  text = replace(text, 'listen: 0.0.0.0:4222', `listen: 127.0.0.1:${n.client}`);
  text = replace(text, 'http: 127.0.0.1:8222', `http: 127.0.0.1:${n.monitor}`);
  text = replace(text, 'listen: 0.0.0.0:6222', `listen: 127.0.0.1:${n.route}`);
  text = replace(text, 'store_dir: /var/lib/nats/jetstream', `store_dir: "${join(dirname(n.file), 'js')}"`);
  nodes.forEach((m, k) => (text = replace(text, `nats-route://fl-nats-${k + 1}:6222`, `nats-route://127.0.0.1:${m.route}`)));
  if (dropSync) text = replace(text, '  sync_interval: always\n', '');
  return text;
}

describe('deploy/nats: the 3-node cluster config', () => {
  it('requires nats-server 2.10+ with sync_interval: always, and says why', () => {
    expect(conf).toMatch(/^\s*sync_interval: always$/m);
    expect(conf).toMatch(/nats-server >= 2\.10/);
    const readme = readFileSync(join(here, 'README.md'), 'utf8');
    expect(readme).toMatch(/nats-server ≥ 2\.10/);
    expect(readme).toMatch(/## Sizing P/);
  });

  it('three nodes from nats.conf form a cluster, refuse anonymous clients, and carry R3 processor streams', async () => {
    const [major, minor] = await serverVersion();
    const dropSync = major === 2 && minor < 10;
    const freshNodes = async (): Promise<Node[]> => {
      const nodes: Node[] = [];
      for (let i = 0; i < 3; i++) nodes.push({ client: await freePort(), route: await freePort(), monitor: await freePort(), file: join(tempDir(`nats-deploy-${i}`), 'nats.conf') });
      nodes.forEach((n, i) => writeFileSync(n.file, localConfig(i, nodes, dropSync)));
      return nodes;
    };
    let nodes = await freshNodes();

    // A password left out of the environment stops the server, naming the variable.
    const { FL_NATS_SYS_PASSWORD: _, ...partial } = SECRETS;
    const refused = await run(nats, ['-t', '-c', nodes[0]!.file], { env: { ...process.env, NATS_SERVER_NAME: 'fl-nats-1', ...partial } }).then(
      () => null,
      (err: { stderr: string }) => err,
    );
    expect(refused?.stderr).toMatch(/FL_NATS_SYS_PASSWORD/);

    // Nine ports picked before the servers bind them: another test file's server can take one
    // meanwhile, then the three start again on new ones (the harness's rule for its own servers).
    let servers: ManagedProcess[] = [];
    await startOnFreePorts(undefined, async () => {
      if (servers.length) nodes = await freshNodes();
      servers = nodes.map(
        (n, i) =>
          new ManagedProcess({
            name: `nats-deploy-${i}`,
            command: nats,
            args: ['-c', n.file],
            env: { ...process.env, NATS_SERVER_NAME: `fl-nats-${i + 1}`, ...SECRETS },
            ready: (out) => out.includes('Server is ready'),
          }),
      );
      const started = await Promise.allSettled(servers.map((s) => s.start()));
      const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) {
        await Promise.all(servers.map((s) => s.stop()));
        throw failed.reason;
      }
    });
    const influx = await InfluxServer.start();
    try {
      await waitFor(async () => {
        for (const n of nodes) if ((await fetch(`http://127.0.0.1:${n.monitor}/healthz`).catch(() => null))?.status !== 200) return false;
        return true;
      }, { timeoutMs: 30_000, intervalMs: 200, what: 'the cluster healthy' });
      const urls = nodes.map((n) => `nats://127.0.0.1:${n.client}`);
      await expect(connect({ servers: urls[0], reconnect: false })).rejects.toThrow(/Authorization/i);

      const sample = parse(readFileSync(join(here, 'processor.yaml'), 'utf8')) as ProcessorConfigInput;
      expect(loadProcessorConfig(sample).nats.replicas).toBe(3);
      const config: ProcessorConfigInput = { ...sample, nats: { ...sample.nats, servers: urls, pass: SECRETS.FL_NATS_PROCESSOR_PASSWORD }, influx: { url: influx.url, database: 'fieldline' }, http: { port: null } };
      const processor = await startProcessor(config, { logger: pino({ level: 'silent' }) });
      await waitFor(() => processor.owned().length === 8 || null, { timeoutMs: 30_000, intervalMs: 100, what: 'every partition owned' });
      await processor.close();

      const nc = await connect({ servers: urls, user: 'fieldline-processor', pass: SECRETS.FL_NATS_PROCESSOR_PASSWORD });
      const jsm = await nc.jetstreamManager();
      for (const name of [STREAMS.TELEMETRY.name, STREAMS.ALERTS.name, STREAMS.SESSIONS.name, 'KV_fl_processor', 'OBJ_fl_checkpoints']) {
        const info = await jsm.streams.info(name);
        expect(info.config.num_replicas, name).toBe(3);
        expect(info.cluster?.replicas?.length, `${name}: followers`).toBe(2);
      }
      await nc.close();
    } finally {
      await influx.stop();
      await Promise.all(servers.map((s) => s.stop()));
    }
  });
});
