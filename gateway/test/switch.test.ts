// Two gateways on one NATS; a device (the real edge agent, reading a real pty) is moved between
// them mid-stream by a TCP switch in front, as a load balancer would: first leaving its old
// connection half-open (the old gateway fires the device's Last Will only after its keepalive
// runs out, long after the device said "online" through the other gateway), then closing it.
// Nothing is lost or duplicated, and the device's status is never overwritten by an older one.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { createServer, Socket, type AddressInfo, type Server } from 'node:net';
import { join } from 'node:path';
import { parseStatusEntry } from '@fieldline/contract';
import { cleanupAll, NatsServer, onCleanup, PtyPair, sleep, tempDir, waitFor } from '@fieldline/harness';
import { connect } from 'nats';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { addDevice, loadGatewayConfig, startGateway, type Gateway } from '../src/index.js';
import { distinctBatches, telemetryBatches, unexplainedRepeats } from './helpers.js';

afterAll(() => cleanupAll());

const root = new URL('../../', import.meta.url).pathname;
const DEVICE = 'dev-sw';
const PASSWORD = 'switch-password-123';

/** A TCP switch: new connections go to the current target; `switchTo` moves the device. */
class Switch {
  private target: number;
  private readonly pairs = new Set<{ client: Socket; upstream: Socket; to: number }>();
  private constructor(
    private readonly server: Server,
    readonly port: number,
    first: number,
  ) {
    this.target = first;
  }

  static async start(first: number): Promise<Switch> {
    let sw: Switch | undefined;
    const server = createServer((client) => sw!.accept(client));
    // Port 0: the OS picks it as it binds, so no other test file can take it in between.
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    sw = new Switch(server, (server.address() as AddressInfo).port, first);
    return sw;
  }

  private accept(client: Socket): void {
    const to = this.target;
    const upstream = new Socket();
    const pair = { client, upstream, to };
    this.pairs.add(pair);
    upstream.connect(to, '127.0.0.1');
    client.pipe(upstream);
    upstream.pipe(client);
    const drop = (): void => void this.pairs.delete(pair);
    client.on('error', drop).on('close', drop);
    upstream.on('error', () => client.destroy());
  }

  /**
   * New connections go to `to`. Existing ones are cut on the device's side; with `halfOpen` the
   * old gateway's side stays open and silent (it notices only by its keepalive), else it is closed.
   */
  switchTo(to: number, o: { halfOpen: boolean }): void {
    this.target = to;
    for (const p of [...this.pairs]) {
      p.client.unpipe(p.upstream);
      p.upstream.unpipe(p.client);
      p.client.destroy();
      if (!o.halfOpen) p.upstream.destroy();
      this.pairs.delete(p);
    }
  }

  close(): void {
    for (const p of this.pairs) (p.client.destroy(), p.upstream.destroy());
    this.server.close();
  }
}

async function spawnAgent(configFile: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--conditions=fieldline-src', '--import', 'tsx', join(root, 'edge/src/cli.ts'), 'run', '--config', configFile], {
    cwd: root,
    env: { ...process.env, FL_TEST_PASSWORD: PASSWORD },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  onCleanup(() => child.kill('SIGKILL'));
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out = (out + c.toString()).slice(-4096)));
  await waitFor(() => out.includes('serial port open'), { timeoutMs: 30_000, what: 'agent port open' });
  return child;
}


const superseded = async (g: Gateway): Promise<number> => (await g.metrics.statusUpdates.get()).values.find((v) => v.labels.result === 'superseded')?.value ?? 0;

describe('two gateways, a device switching between them mid-stream', () => {
  it('loses and duplicates nothing, and a late Last Will never overwrites a newer online', async () => {
    const nats = await NatsServer.start();
    const nc = await connect({ servers: nats.url });
    const registryFile = join(tempDir('gwsw'), 'devices.json');
    await addDevice(registryFile, DEVICE, PASSWORD);
    // Port 0: each gateway binds a port the OS picks, so none can be taken before it binds.
    const gw = () =>
      startGateway(loadGatewayConfig({ mqtt: { host: '127.0.0.1', port: 0 }, auth: { registryFile }, nats: { servers: [nats.url] }, http: null, log: { level: 'silent' } }), { logger: pino({ level: 'silent' }) });
    const a = await gw();
    const b = await gw();
    const [portA, portB] = [a.mqttPort, b.mqttPort];
    const sw = await Switch.start(portA);
    const pty = await PtyPair.create();
    const configFile = join(tempDir('edge-sw'), 'edge.yaml');
    writeFileSync(
      configFile,
      stringify({
        device: DEVICE,
        stateDir: tempDir('edge-sw-state'),
        // Keepalive 4 s: the old gateway notices a half-open connection only after 6 s.
        mqtt: { url: `mqtt://127.0.0.1:${sw.port}`, passwordEnv: 'FL_TEST_PASSWORD', keepaliveS: 4, reconnect: { minMs: 100, maxMs: 500 } },
        batching: { maxReadings: 20, maxDelayMs: 50 },
        heartbeat: { intervalMs: 1000 },
        clock: { assumeSynced: true },
        log: { level: 'info' },
        ports: [{ id: 'p', path: pty.hostPath, driver: 'text-kv', channels: { n: { sensor: 'counter' } } }],
      }),
    );
    const kv = await nc.jetstream().views.kv('fl_device_status');
    const status = async () => {
      const e = await kv.get(DEVICE);
      return e && e.operation === 'PUT' ? parseStatusEntry(e.value) : null;
    };
    const board = openSync(pty.devicePath, 'w');
    let next = 0;
    const generate = async (count: number): Promise<void> => {
      for (const end = next + count; next < end; ) {
        const burst: string[] = [];
        for (let k = 0; k < 10 && next < end; k++) burst.push(`n=${next++}\r\n`);
        writeSync(board, burst.join(''));
        await sleep(40);
      }
    };
    const agent = await spawnAgent(configFile);
    try {
      await waitFor(async () => (await status())?.state === 'online', { timeoutMs: 20_000, what: 'online through A' });
      const first = (await status())!.conn!;
      await generate(200);
      // Mid-stream, the device moves to B; its connection to A stays half-open.
      sw.switchTo(portB, { halfOpen: true });
      await generate(200);
      await waitFor(async () => ((await status())?.conn ?? 0) > first, { timeoutMs: 20_000, what: 'online through B' });
      expect((await status())!.state).toBe('online');
      // A's keepalive runs out: it fires the device's will, which must not overwrite B's online.
      await waitFor(async () => (await superseded(a)) >= 1, { timeoutMs: 30_000, what: "A's late Last Will" });
      await sleep(300);
      expect(await status()).toMatchObject({ state: 'online', source: 'status' });
      // And back to A, this time closing B's side: B's will races A's new online.
      const second = (await status())!.conn!;
      sw.switchTo(portA, { halfOpen: false });
      await generate(200);
      await waitFor(async () => ((await status())?.conn ?? 0) > second && (await status())?.state === 'online', { timeoutMs: 20_000, what: 'online through A again' });
      await sleep(1000);
      expect(await status()).toMatchObject({ state: 'online', source: 'status' });
      expect((await status())!.conn).toBeGreaterThan(second);

      const total = next;
      const batches = await waitFor(
        async () => {
          const x = await telemetryBatches(nc, DEVICE);
          return distinctBatches(x).reduce((n, y) => n + y.values.length, 0) >= total ? x : null;
        },
        { timeoutMs: 30_000, intervalMs: 500, what: `${total} readings in JetStream` },
      );
      // A batch twice only where a bundle was re-sent cut differently (the processor drops it).
      expect(unexplainedRepeats(batches)).toEqual([]);
      expect(distinctBatches(batches).flatMap((x) => x.values).sort((p, q) => p - q)).toEqual(Array.from({ length: total }, (_, i) => i));
      // A clean stop: the final status is offline, from the device's last connection.
      const last = (await status())!.conn!;
      agent.kill('SIGTERM');
      await new Promise((r) => agent.once('exit', r));
      await waitFor(async () => (await status())?.state === 'offline', { timeoutMs: 10_000, what: 'offline after the clean stop' });
      expect((await status())!.conn).toBe(last);
    } finally {
      closeSync(board);
      agent.kill('SIGKILL');
      sw.close();
      await a.close();
      await b.close();
      await pty.close();
      await nc.close();
      await nats.stop();
    }
  }, 120_000);
});
