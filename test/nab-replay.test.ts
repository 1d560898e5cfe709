// One NAB series replayed by firmware-sim through the whole live pipeline (pty -> edge -> MQTT ->
// gateway -> JetStream -> processor with its default detectors -> InfluxDB) gets, reading for
// reading, the scores that `fieldline-cloud evaluate` gives for the same file: evaluate runs the
// processor's own pipeline, not a second implementation.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadEdgeConfig, startEdge, type Edge } from '@fieldline/edge';
import { parseScenario, readReplayCsv, startSimulation, type Simulation } from '@fieldline/firmware-sim';
import { addDevice, loadGatewayConfig, startGateway, type Gateway } from '@fieldline/gateway';
import { loadProcessorConfig, startProcessor, type Processor } from '@fieldline/cloud';
import { cleanupAll, InfluxServer, NatsServer, tempDir, waitFor } from '@fieldline/harness';
import { KEEP_FOREVER } from '../cloud/test/processor/helpers.js';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { runSeries } from '../cloud/src/evaluate/run-series.js';
import { readLabels, readSeries } from '../cloud/src/evaluate/series.js';

const fixture = fileURLToPath(new URL('./fixtures/nab/', import.meta.url));
const FILE = 'artificialWithAnomaly/art_daily_jumpsup.csv';

const quiet = pino({ level: 'silent' });
const stops: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const stop of stops.reverse()) await stop().catch(() => undefined);
  cleanupAll();
});

describe('a NAB file through the live pipeline', () => {
  it('gets the same per-reading scores in InfluxDB as evaluate gives for that file', async () => {
    const rows = readReplayCsv(join(fixture, FILE));
    const nats = await NatsServer.start();
    stops.push(() => nats.stop());
    const influx = await InfluxServer.start();
    stops.push(() => influx.stop());

    const dir = tempDir('nab-replay');
    const registryFile = join(dir, 'devices.json');
    await addDevice(registryFile, 'nab-dev', 's3cret-nab-password');
    const gateway: Gateway = await startGateway(
      loadGatewayConfig({ mqtt: { host: '127.0.0.1', port: 0 }, auth: { registryFile }, nats: { servers: [nats.url] }, http: { port: 0 }, log: { level: 'silent' } }),
      { logger: quiet },
    );
    stops.push(() => gateway.close());

    // The shipped defaults: no detectors configured means the default ones.
    const config = loadProcessorConfig({ nats: { servers: [nats.url] }, influx: { url: influx.url, api: 'v1' }, tiers: KEEP_FOREVER, http: { port: null }, log: { level: 'silent' } });
    const processor: Processor = await startProcessor(config, { logger: quiet });
    stops.push(() => processor.close());

    // 14 days of 5-minute rows at 200,000x: about 6 s of wall time, the file's timestamps kept as event time.
    const scenario = parseScenario({
      name: 'nab-replay',
      devices: [{ id: 'nab-dev', boards: [{ id: 'nab', protocol: 'jsonl', baud: 115200, channels: [{ name: 'value', model: 'replay', file: join(fixture, FILE), speed: 200_000 }] }] }],
    });
    const sim: Simulation = await startSimulation(scenario, { seed: 1, dir: join(dir, 'tty'), paused: true });
    stops.push(() => sim.close());

    process.env.FL_NAB_PASSWORD = 's3cret-nab-password';
    const edge: Edge = await startEdge(
      loadEdgeConfig({
        device: 'nab-dev',
        stateDir: join(dir, 'edge-state'),
        mqtt: { url: `mqtt://127.0.0.1:${gateway.mqttPort}`, passwordEnv: 'FL_NAB_PASSWORD' },
        batching: { maxReadings: 100, maxDelayMs: 100 },
        clock: { assumeSynced: true },
        // Heartbeats carry the edge's own clock (today), which would move this 2014 device past
        // its readings; a replay of old data runs without them.
        heartbeat: { intervalMs: 0 },
        log: { level: 'silent' },
        ports: [{ id: 'nab', path: sim.boards[0]!.path, baudRate: 115200, driver: 'jsonl', channels: { value: { sensor: 'value' } } }],
      }),
      { logger: quiet },
    );
    stops.push(() => edge.close());
    sim.resume();
    await sim.done;

    const count = async (): Promise<number> => {
      const r = await influx.query('SELECT count(value) FROM readings', 'fieldline').catch(() => []);
      return Number(r[0]?.values[0]?.[1] ?? 0);
    };
    await waitFor(async () => (await count()) >= rows.length, { timeoutMs: 60_000, what: `${rows.length} points in InfluxDB` });

    const stored = await influx.query("SELECT value, score FROM readings WHERE device = 'nab-dev'", 'fieldline');
    const live = stored[0]!.values.map(([ts, value, score]) => ({ ts, value, score }));
    expect(live).toHaveLength(rows.length);

    const series = readSeries(fixture, FILE, readLabels(join(fixture, 'labels.json')).get(FILE) ?? []);
    const offline = runSeries(series, config, 'artificialwithanomaly', 'art_daily_jumpsup');
    expect(live.map((p) => p.ts)).toEqual([...series.ts]);
    expect(live.map((p) => p.value)).toEqual([...series.values]);
    expect(live.map((p) => p.score)).toEqual([...offline.scores]);
    // Not a trivial equality: the series' jump up is scored as an anomaly in both.
    expect(Math.max(...offline.scores)).toBeGreaterThan(0.5);
  });
});
