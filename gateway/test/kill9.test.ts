import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cleanupAll, freePort, ManagedProcess, NatsServer, sleep, startOnFreePorts, tempDir, waitFor } from '@fieldline/harness';
import { connect, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addDevice } from '../src/index.js';
import { PASSWORD, SteadyDevice, telemetryBatches, unexplainedRepeats } from './helpers.js';

const CLI = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));


async function metric(httpPort: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  return Number(text.match(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm'))?.[1] ?? NaN);
}

describe('kill -9 of the gateway between a PUBLISH and its JetStream ack', () => {
  let nats: NatsServer;
  let nc: NatsConnection;
  let gateway: ManagedProcess;
  let httpPort: number;
  let mqttPort: number;
  let paused: number | undefined;

  beforeAll(async () => {
    nats = await NatsServer.start();
    nc = await connect({ servers: nats.url });
    const dir = tempDir('gwkill');
    const registry = join(dir, 'devices.json');
    await addDevice(registry, 'dev-k', PASSWORD);
    const config = join(dir, 'gateway.yaml');
    // Two ports picked before the gateway binds them: another test file can take one meanwhile,
    // then the gateway starts again on new ones (its exit names EADDRINUSE in the error's log tail).
    gateway = await startOnFreePorts(undefined, async () => {
      mqttPort = await freePort();
      httpPort = await freePort();
      writeFileSync(
        config,
        [
          `mqtt: { host: 127.0.0.1, port: ${mqttPort} }`,
          `auth: { registryFile: ${registry} }`,
          `nats: { servers: ["${nats.url}"], publishTimeoutMs: 2000 }`,
          `http: { host: 127.0.0.1, port: ${httpPort} }`,
        ].join('\n'),
      );
      const started = new ManagedProcess({
        name: 'fieldline-gateway',
        command: process.execPath,
        args: ['--conditions=fieldline-src', '--import', 'tsx', CLI, 'run', '--config', config],
        cwd: ROOT,
        readyTimeoutMs: 30_000,
        ready: (out) => out.includes('"msg":"gateway ready"'),
      });
      await started.start();
      return started;
    });
  });

  afterAll(async () => {
    if (paused) process.kill(paused, 'SIGCONT');
    await gateway?.stop();
    await nc?.close();
    await nats?.stop();
    cleanupAll();
  });

  it('every envelope the device sent is in JetStream after the restart, twice only where a bundle was re-sent', async () => {
    const dev = new SteadyDevice(`mqtt://127.0.0.1:${mqttPort}`, 'dev-k');
    await new Promise((r) => dev.client.once('connect', r));
    for (let i = 0; i < 20; i++) dev.publishOne();
    await waitFor(() => dev.allAcked(), { what: 'first 20 acked' });

    // Freeze nats-server: PUBLISHes reach the gateway and are forwarded, but no ack comes back.
    paused = nats.pid!;
    process.kill(paused, 'SIGSTOP');
    for (let i = 0; i < 20; i++) dev.publishOne();
    await waitFor(async () => (await metric(httpPort, 'fieldline_gateway_pending_envelopes')) >= 1, { what: 'PUBLISHes held for JetStream' });
    expect(dev.acked.size).toBe(20);

    await gateway.kill();
    process.kill(paused, 'SIGCONT');
    paused = undefined;
    for (let i = 0; i < 20; i++) dev.publishOne(); // queued by the device while the gateway is down
    await sleep(500);
    // The same config, so the same port: the device reconnects to the address it was given.
    await gateway.start();

    await waitFor(() => dev.allAcked(), { timeoutMs: 30_000, what: 'every envelope acknowledged after the restart' });
    // Every envelope stored; a repeat only where a bundle was re-sent cut differently.
    const batches = await telemetryBatches(nc);
    expect([...new Set(batches.map((b) => b.id))].sort()).toEqual(dev.expectedIds().sort());
    expect(unexplainedRepeats(batches)).toEqual([]);
    dev.client.end(true);
  });
});
