import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { connect } from 'nats';
import { stringify } from 'yaml';
import { addDevice, loadGatewayConfig, startGateway, type Gateway } from '@fieldline/gateway';
import { cleanupAll, NatsServer, onCleanup, PtyPair, sleep, tempDir, waitFor } from '@fieldline/harness';
import { distinctBatches, telemetryBatches, unexplainedRepeats } from '../../test/ledger/read.js';

afterAll(() => cleanupAll());

const root = new URL('../../', import.meta.url).pathname;
const DEVICE = 'dev-k9';

/** The agent as a child process through its CLI, as systemd runs it; resolves once its port is open. */
async function spawnAgent(configFile: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--conditions=fieldline-src', '--import', 'tsx', join(root, 'edge/src/cli.ts'), 'run', '--config', configFile], {
    cwd: root,
    env: { ...process.env, FL_TEST_PASSWORD: 'k9-password-123' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  onCleanup(() => child.kill('SIGKILL'));
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out = (out + c.toString()).slice(-4096)));
  await waitFor(() => out.includes('serial port open'), { timeoutMs: 20_000, what: 'agent port open' });
  return child;
}

async function kill9(child: ChildProcess): Promise<void> {
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}

/** Every message in TELEMETRY for the device, in stream order. */
describe('store-and-forward across kill -9 and a broker outage', () => {
  it('every generated reading is in JetStream (by epoch:seq and by reading), a batch twice only where a bundle was re-sent', async () => {
    const nats = await NatsServer.start();
    const registryFile = join(tempDir('gw'), 'devices.json');
    await addDevice(registryFile, DEVICE, 'k9-password-123');
    const gwConfig = (port: number) => loadGatewayConfig({ mqtt: { host: '127.0.0.1', port }, auth: { registryFile }, nats: { servers: [nats.url] }, http: null, log: { level: 'silent' } });
    // Port 0: the gateway binds a port the OS picks, so no other test file can take it in between.
    let gateway: Gateway | undefined = await startGateway(gwConfig(0));
    const mqttPort = gateway.mqttPort;
    const pty = await PtyPair.create();
    const configFile = join(tempDir('edge-cfg'), 'edge.yaml');
    writeFileSync(
      configFile,
      stringify({
        device: DEVICE,
        stateDir: tempDir('edge-state'),
        mqtt: { url: `mqtt://127.0.0.1:${mqttPort}`, passwordEnv: 'FL_TEST_PASSWORD', reconnect: { minMs: 100, maxMs: 1000 } },
        batching: { maxReadings: 25, maxDelayMs: 50 },
        heartbeat: { intervalMs: 1000 },
        clock: { assumeSynced: true },
        log: { level: 'info' },
        ports: [{ id: 'p', path: pty.hostPath, driver: 'text-kv', channels: { n: { sensor: 'counter' } } }],
      }),
    );
    const nc = await connect({ servers: nats.url });
    const board = openSync(pty.devicePath, 'w');
    let next = 0;
    // The board: 200 frames/s in small bursts, each value once.
    const generate = async (count: number): Promise<void> => {
      for (const end = next + count; next < end; ) {
        const burst: string[] = [];
        for (let k = 0; k < 10 && next < end; k++) burst.push(`n=${next++}\r\n`);
        writeSync(board, burst.join(''));
        await sleep(50);
      }
    };
    // A tty discards input while nobody has it open, so the board pauses while the agent is dead
    // (a real sensor's frames are lost there too); the pause also lets the agent read what was sent.
    const pauseThenKill = async (child: ChildProcess): Promise<void> => {
      await sleep(400);
      await kill9(child);
    };
    let agent = await spawnAgent(configFile);
    try {
      await generate(300);
      await pauseThenKill(agent); // kill -9 while batches are in flight
      agent = await spawnAgent(configFile);
      await generate(200);
      await gateway.close(); // the uplink is gone: readings pile up in the disk queue
      gateway = undefined;
      await generate(300);
      await pauseThenKill(agent); // kill -9 with a backlog on disk and no broker
      agent = await spawnAgent(configFile);
      await generate(100);
      await sleep(1000);
      // Back on the same port: the agent's config names it, and it reconnects there.
      gateway = await startGateway(gwConfig(mqttPort));
      await generate(100);
      const total = next;
      const batches = await waitFor(
        async () => {
          const b = await telemetryBatches(nc, DEVICE);
          return new Set(b.flatMap((x) => x.values)).size >= total ? b : null;
        },
        { timeoutMs: 30_000, intervalMs: 500, what: `${total} readings in JetStream` },
      );
      // A batch twice only where a bundle was re-sent cut differently (the processor drops the
      // repeat by batch id); stored alone, a resend keeps its Nats-Msg-Id and JetStream drops it.
      expect(unexplainedRepeats(batches)).toEqual([]);
      const values = distinctBatches(batches).flatMap((b) => b.values).sort((a, b) => a - b);
      expect(values).toEqual(Array.from({ length: total }, (_, i) => i));
    } finally {
      closeSync(board);
      await kill9(agent).catch(() => undefined);
      await nc.close();
      await gateway?.close();
      await pty.close();
      await nats.stop();
    }
  }, 120_000);
});
