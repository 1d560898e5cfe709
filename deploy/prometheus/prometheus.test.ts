// deploy/prometheus: the scrape config and alert rules pass promtool (config, rules, and the rules'
// unit tests), and every service's /metrics passes `promtool check metrics` with the standard
// process metrics unprefixed beside its fieldline_* figures. The scrape by a real Prometheus of
// the demo's services is in test/demo.test.ts.
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import { pino } from 'pino';
import { cleanupAll, findBinary, InfluxServer, NatsServer, tempDir, waitFor } from '@fieldline/harness';
import { addDevice, loadGatewayConfig, startGateway, type Gateway } from '@fieldline/gateway';
import { loadApiConfig, loadProcessorConfig, startApi, startProcessor, type ApiHandle, type Processor } from '@fieldline/cloud';

const here = import.meta.dirname;
const promtool = (): string => findBinary('promtool', 'prometheus');
const run = (args: string[], input?: string): { status: number | null; out: string } => {
  const r = spawnSync(promtool(), args, { cwd: here, input, encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
};

describe('deploy/prometheus files', () => {
  it('prometheus.yml is a valid config and finds the rule file', () => {
    const r = run(['check', 'config', 'prometheus.yml']);
    expect(r.out).toContain('SUCCESS: 1 rule files found');
    expect(r.status, r.out).toBe(0);
  });

  it('fieldline.rules.yml is valid and has the four alerts the issue asks for', () => {
    const r = run(['check', 'rules', 'fieldline.rules.yml']);
    expect(r.status, r.out).toBe(0);
    const text = execFileSync('cat', [join(here, 'fieldline.rules.yml')], { encoding: 'utf8' });
    for (const a of ['FieldlineIngestStopped', 'FieldlineDeadLettersRising', 'FieldlineConsumerLag', 'FieldlineEdgeQueueFilling']) expect(text).toContain(`alert: ${a}`);
  });

  it('the rules fire on the series that should raise them and stay quiet on a healthy fleet (promtool test rules)', () => {
    const r = run(['test', 'rules', 'fieldline.rules.test.yml']);
    expect(r.out).toContain('SUCCESS');
    expect(r.status, r.out).toBe(0);
  });
});

describe('every service /metrics', () => {
  let nats: NatsServer;
  let influx: InfluxServer;
  let gateway: Gateway;
  let processor: Processor;
  let api: ApiHandle;

  beforeAll(async () => {
    [nats, influx] = await Promise.all([NatsServer.start(), InfluxServer.start()]);
    const registryFile = join(tempDir('prom-gw'), 'devices.json');
    await addDevice(registryFile, 'dev-1', 'pw-0123456789');
    const logger = pino({ level: 'silent' });
    gateway = await startGateway(loadGatewayConfig({ mqtt: { host: '127.0.0.1', port: 0 }, auth: { registryFile }, nats: { servers: [nats.url] }, http: { port: 0 } }), { logger });
    processor = await startProcessor(loadProcessorConfig({ nats: { servers: [nats.url] }, influx: { url: influx.url }, http: { port: 0 } }), { logger });
    api = await startApi(loadApiConfig({ port: 0, ops: { port: 0 }, influx: { url: influx.url }, auth: { tokens: ['prom-test-token-0123456789'] } }), { logger });
  });

  afterAll(async () => {
    await api?.close();
    await processor?.close();
    await gateway?.close();
    await Promise.all([nats?.stop(), influx?.stop()]);
    cleanupAll();
  });

  const scrape = async (port: number | null | undefined): Promise<string> => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();

  it('a heartbeat from an edge agent shows up as fieldline_edge_* on the gateway', async () => {
    const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${gateway.mqttPort}`, { clientId: 'dev-1', username: 'dev-1', password: 'pw-0123456789', reconnectPeriod: 0 });
    const health = { queue_depth: 120, queue_bytes: 40960, queue_max_bytes: 67108864, dropped_overflow: 3, dropped_disk_full: 5, disk_full: 1, dropped_rejected: 0, ports_open: 2, clock_synced: 1 };
    const now = Date.now();
    await c.publishAsync('fl/v1/dev-1/telemetry', JSON.stringify({ v: 1, device: 'dev-1', epoch: 'promtest1', seq: 1, clock: { synced: true, now }, readings: [], health }), { qos: 1 });
    await c.endAsync();
    const text = await waitFor(async () => {
      const t = await scrape(gateway.httpPort);
      return t.includes('fieldline_edge_queue_readings{device="dev-1"} 120') ? t : undefined;
    });
    expect(text).toContain('fieldline_edge_queue_bytes{device="dev-1"} 40960');
    expect(text).toContain('fieldline_edge_queue_max_bytes{device="dev-1"} 67108864');
    expect(text).toContain('fieldline_edge_queue_dropped_readings_total{device="dev-1",why="overflow"} 3');
    expect(text).toContain('fieldline_edge_queue_dropped_readings_total{device="dev-1",why="disk_full"} 5');
    expect(text).toContain('fieldline_edge_disk_full{device="dev-1"} 1');
    const at = Number(/fieldline_edge_last_heartbeat_timestamp_seconds\{device="dev-1"\} ([\d.e+]+)/.exec(text)?.[1]);
    expect(Math.abs(at - now / 1000)).toBeLessThan(30);
  });

  it.each(['gateway', 'processor', 'api'] as const)('%s: unprefixed process metrics, fieldline_* figures, promtool check metrics clean', async (service) => {
    const port = { gateway: gateway.httpPort, processor: processor.httpPort, api: api.opsPort }[service];
    const text = await scrape(port);
    // The standard names that stock Node.js dashboards query, with no service prefix.
    for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'process_start_time_seconds', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_seconds', 'nodejs_gc_duration_seconds_bucket', 'nodejs_active_handles']) {
      expect(text, name).toMatch(new RegExp(`^${name}[{ ]`, 'm'));
    }
    expect(text).not.toMatch(/^fieldline_\w*(process|nodejs)_/m);
    expect(text).toMatch(new RegExp(`^fieldline_${service}_\\w+`, 'm'));
    const r = run(['check', 'metrics'], text);
    expect(r.out.trim()).toBe('');
    expect(r.status, r.out).toBe(0);
  });
});
