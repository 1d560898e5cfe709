// Walking skeleton, end to end on real parts: firmware-sim writes sensor lines on a real pty,
// the edge agent reads them with serialport and publishes over MQTT QoS 1, the gateway (aedes)
// bridges into JetStream, the processor writes InfluxDB. The test then asks InfluxDB over its
// own HTTP API for exactly the generated points.
import { join } from 'node:path';
import { startEdge, loadEdgeConfig, type Edge } from '@fieldline/edge';
import { generateSamples, parseScenario, startSimulation, type Simulation } from '@fieldline/firmware-sim';
import { addDevice, loadGatewayConfig, startGateway, type Gateway } from '@fieldline/gateway';
import { loadProcessorConfig, startProcessor, type Processor } from '@fieldline/cloud';
import { cleanupAll, InfluxServer, NatsServer, tempDir, waitFor } from '@fieldline/harness';
import { KEEP_FOREVER } from '../cloud/test/processor/helpers.js';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';

const N = 300;
const HZ = 10;
const START = Date.parse('2026-03-01T12:00:00Z');
const scenario = parseScenario({
  name: 'e2e',
  start: new Date(START).toISOString(),
  devices: [
    {
      id: 'e2e-dev',
      boards: [{ id: 'b1', protocol: 'text-kv', baud: 115200, hz: HZ, timestamps: true, channels: [{ name: 'temp', model: 'temperature', level: 21 }] }],
    },
  ],
});

const quiet = pino({ level: 'silent' });
const stops: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const stop of stops.reverse()) await stop().catch(() => undefined);
  cleanupAll();
});

describe('walking skeleton: pty -> edge -> MQTT -> gateway -> JetStream -> processor -> InfluxDB', () => {
  it(`delivers exactly the ${N} generated readings, with their values, tags and event timestamps`, async () => {
    const nats = await NatsServer.start();
    stops.push(() => nats.stop());
    const influx = await InfluxServer.start();
    stops.push(() => influx.stop());

    const dir = tempDir('e2e');
    const registryFile = join(dir, 'devices.json');
    await addDevice(registryFile, 'e2e-dev', 's3cret-e2e-password');
    const gateway: Gateway = await startGateway(
      loadGatewayConfig({ mqtt: { host: '127.0.0.1', port: 0 }, auth: { registryFile }, nats: { servers: [nats.url] }, http: { port: 0 }, log: { level: 'silent' } }),
      { logger: quiet },
    );
    stops.push(() => gateway.close());

    const processor: Processor = await startProcessor(
      loadProcessorConfig({ nats: { servers: [nats.url] }, influx: { url: influx.url, api: 'v1' }, tiers: KEEP_FOREVER, http: { port: null }, log: { level: 'silent' } }),
      { logger: quiet },
    );
    stops.push(() => processor.close());

    const until = START + (N / HZ) * 1000;
    const sim: Simulation = await startSimulation(scenario, { seed: 7, dir: join(dir, 'tty'), realtime: false, until, paused: true });
    stops.push(() => sim.close());

    process.env.FL_E2E_PASSWORD = 's3cret-e2e-password';
    const edge: Edge = await startEdge(
      loadEdgeConfig({
        device: 'e2e-dev',
        stateDir: join(dir, 'edge-state'),
        mqtt: { url: `mqtt://127.0.0.1:${gateway.mqttPort}`, passwordEnv: 'FL_E2E_PASSWORD' },
        batching: { maxReadings: 50, maxDelayMs: 100 },
        clock: { assumeSynced: true },
        log: { level: 'silent' },
        ports: [{ id: 'b1', path: sim.boards[0]!.path, baudRate: 115200, driver: 'text-kv', channels: { temp: { sensor: 'temp', unit: 'C' } } }],
      }),
      { logger: quiet },
    );
    stops.push(() => edge.close());
    sim.resume();
    await sim.done;

    const expected = [...generateSamples(scenario, { seed: 7, until })];
    expect(expected).toHaveLength(N);
    const count = async (): Promise<number> => {
      const rows = await influx.query('SELECT count(value) FROM readings', 'fieldline').catch(() => []);
      return Number(rows[0]?.values[0]?.[1] ?? 0);
    };
    await waitFor(async () => (await count()) >= N, { timeoutMs: 45_000, what: `${N} points in InfluxDB` });

    const series = await influx.query('SELECT value FROM readings GROUP BY device, sensor', 'fieldline');
    expect(series).toHaveLength(1);
    expect(series[0]!.tags).toEqual({ device: 'e2e-dev', sensor: 'temp' });
    const got = series[0]!.values.map(([ts, value]) => ({ ts, value }));
    expect(got).toEqual(expected.map((s) => ({ ts: s.ts, value: s.value })));
    expect(edge.health().queue.depth).toBe(0);
  });
});
