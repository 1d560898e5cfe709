// `npm run demo`: the whole pipeline on this one machine -- simulated greenhouse sensors on real
// ptys, two edge agents, the gateway (aedes + JetStream bridge), NATS, the processor, InfluxDB,
// the query API + dashboard and Node-RED with the example alert flows. Ctrl-C stops everything.
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { cleanupAll, InfluxServer, NatsServer, tempDir } from '@fieldline/harness';
import { addDevice, loadGatewayConfig, startGateway } from '@fieldline/gateway';
import { loadApiConfig, loadProcessorConfig, startApi, startProcessor } from '@fieldline/cloud';
import { loadEdgeConfig, startEdge } from '@fieldline/edge';
import { loadScenario, startSimulation } from '@fieldline/firmware-sim';
import { startNodeRed } from '../../cloud/node-red/launch.mjs';
import { edgeConfigFor } from './edge-config.js';
import { preferPort, startWebhookPrinter } from './util.js';
import { createLogger } from '@fieldline/runtime';
import type { Logger } from 'pino';
import { parse as parseYaml } from 'yaml';

const root = resolve(fileURLToPath(import.meta.url), '../../..');
const { values: args } = parseArgs({
  options: {
    scenario: { type: 'string', default: join(root, 'firmware-sim/scenarios/greenhouse.yaml') },
    seconds: { type: 'string' },
    'no-node-red': { type: 'boolean', default: false },
  },
});

const home = join(root, '.fieldline-demo');
rmSync(home, { recursive: true, force: true });
mkdirSync(join(home, 'logs'), { recursive: true });
const logFor = (part: string, base?: Record<string, unknown>): Logger => createLogger({ service: part, ...(base ? { base } : {}), destination: join(home, 'logs', `${part}.log`) });
const mkdirp = (dir: string): string => (mkdirSync(dir, { recursive: true }), dir);
const secret = (): string => randomBytes(18).toString('base64url');
const closers: { name: string; close: () => Promise<unknown> }[] = [];
const started = Date.now();
const say = (line: string): void => console.log(`[${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s] ${line}`);

async function main(): Promise<void> {
  say('starting nats-server (JetStream) and influxd …');
  // Out of the terminal's process group: Ctrl-C reaches only the demo, which stops them last
  // (else influxd would exit under a processor that is still flushing).
  const nats = await NatsServer.start({ port: await preferPort(4222), ownProcessGroup: true });
  closers.push({ name: 'nats-server', close: () => nats.stop() });
  const influx = await InfluxServer.start({ port: await preferPort(8086), ownProcessGroup: true });
  closers.push({ name: 'influxd', close: () => influx.stop() });

  const scenario = loadScenario(args.scenario!);
  const devices = scenario.devices.map((d) => ({ id: d.id, password: secret() }));
  const registryFile = join(home, 'devices.json');
  for (const d of devices) await addDevice(registryFile, d.id, d.password);

  const gateway = await startGateway(
    loadGatewayConfig({ mqtt: { host: '127.0.0.1', port: await preferPort(1883) }, auth: { registryFile }, nats: { servers: [nats.url] }, http: { port: await preferPort(9464) } }),
    { logger: logFor('gateway') },
  );
  closers.push({ name: 'gateway', close: () => gateway.close() });

  const processor = await startProcessor(
    loadProcessorConfig({ ...demoProcessorConfig(), nats: { servers: [nats.url] }, influx: { url: influx.url, api: 'v1' }, http: { port: await preferPort(9465) } }),
    { logger: logFor('processor') },
  );
  closers.push({ name: 'processor', close: () => processor.close() });

  const apiToken = process.env.FIELDLINE_API_TOKENS?.split(',')[0] ?? secret();
  const api = await startApi(
    loadApiConfig({ port: await preferPort(8080), ops: { port: await preferPort(9466) }, influx: { url: influx.url, api: 'v1' }, nats: { servers: [nats.url], statusBucket: 'fl_device_status' }, auth: { tokens: [apiToken] } }),
    { logger: logFor('api') },
  );
  closers.push({ name: 'query API', close: () => api.close() });

  let nodeRedLine = 'Node-RED          off (--no-node-red)';
  const nodeRedPassword = process.env.FL_NODE_RED_PASSWORD ?? secret();
  if (!args['no-node-red']) {
    const webhook = await startWebhookPrinter((alert) => say(`webhook from Node-RED: ${alert}`));
    closers.push({ name: 'webhook receiver', close: () => webhook.close() });
    say('starting Node-RED with the fieldline palette and example flows …');
    const nodeRed = await startNodeRed({
      adminPassword: nodeRedPassword,
      credentialSecret: process.env.FL_NODE_RED_CREDENTIAL_SECRET ?? secret(),
      port: await preferPort(1880),
      userDir: mkdirp(join(home, 'node-red')),
      credentials: { 'fl-config': { apiToken } },
      env: { FL_NATS_URL: nats.url, FL_API_URL: api.url, FL_ALERT_WEBHOOK_URL: webhook.url, FL_DIGEST_WEBHOOK_URL: webhook.url },
    });
    closers.push({ name: 'Node-RED', close: () => nodeRed.close() });
    nodeRedLine = `Node-RED          ${nodeRed.url}  (user admin; password in the credentials file)`;
  }

  const sim = await startSimulation(scenario, { seed: 1, dir: join(home, 'tty'), start: Date.now(), realtime: true, paused: true });
  closers.push({ name: 'firmware-sim', close: () => sim.close() });
  for (const d of devices) {
    const env = `FL_DEMO_PASSWORD_${d.id.replace(/[^a-z0-9]/gi, '_').toUpperCase()}`;
    process.env[env] = d.password;
    const boards = sim.boards.filter((b) => b.device === d.id);
    const edge = await startEdge(
      loadEdgeConfig(edgeConfigFor(d.id, boards, { stateDir: tempDir(`edge-${d.id}`), mqttUrl: `mqtt://127.0.0.1:${gateway.mqttPort}`, passwordEnv: env })),
      { logger: createLogger({ service: 'edge', base: { device: d.id }, destination: join(home, 'logs', `edge-${d.id}.log`) }) },
    );
    closers.push({ name: `edge ${d.id}`, close: () => edge.close() });
  }
  sim.resume();

  const credentials = join(home, 'credentials.txt');
  writeFileSync(credentials, `query API token: ${apiToken}\nNode-RED user: admin\nNode-RED password: ${nodeRedPassword}\n`, { mode: 0o600 });
  chmodSync(credentials, 0o600);
  const q = (text: string): string => `curl -sG ${influx.url}/query --data-urlencode db=fieldline --data-urlencode "q=${text}"`;
  console.log(`
fieldline demo is running (${scenario.name}: ${devices.length} devices, ${sim.boards.length} boards)
  simulated boards  ${sim.boards.map((b) => `${b.device}/${b.board} (${b.protocol}) ${b.path}`).join('\n                    ')}
  gateway (MQTT)    mqtt://127.0.0.1:${gateway.mqttPort}   metrics http://127.0.0.1:${gateway.httpPort}/metrics
  processor         metrics http://127.0.0.1:${processor.httpPort}/metrics
  NATS JetStream    ${nats.url}
  InfluxDB (v1)     ${influx.url}   database "fieldline"
  dashboard + API   ${api.url}/   (token in the credentials file; OpenAPI at ${api.url}/openapi.json)
  API ops           metrics http://127.0.0.1:${api.opsPort}/metrics
  Prometheus        prometheus --config.file=deploy/prometheus/prometheus.yml   (scrapes these three on their default ports)
  ${nodeRedLine}
  credentials       ${credentials}
  logs              ${join(home, 'logs')}

Look at the data:
  ${q('SELECT count(value) FROM readings GROUP BY device')}
  ${q('SELECT * FROM alerts ORDER BY time DESC LIMIT 5')}
  curl -s -H "Authorization: Bearer $(sed -n 's/^query API token: //p' ${credentials})" ${api.url}/api/v1/devices

Ctrl-C stops everything.
`);

  let last = -1;
  const report = async (): Promise<void> => {
    const count = async (m: string): Promise<number> =>
      Number((await influx.query(`SELECT count(*) FROM ${m}`, 'fieldline').catch(() => []))[0]?.values[0]?.slice(1).find((v) => typeof v === 'number') ?? 0);
    const [readings, alerts, sessions] = await Promise.all([count('readings'), count('alerts'), count('sessions')]);
    if (last <= 0 && readings > 0) say(`first readings landed in InfluxDB after ${((Date.now() - started) / 1000).toFixed(1)} s`);
    if (readings !== last) say(`InfluxDB: ${readings} readings, ${sessions} sessions, ${alerts} alert transitions`);
    last = readings;
  };
  const timer = setInterval(() => void report(), 5_000);
  closers.push({ name: 'status', close: async () => clearInterval(timer) });
  if (args.seconds) setTimeout(() => void shutdown('time is up'), Number(args.seconds) * 1000);
}

/** Windows and detectors from deploy/demo/processor.yaml (the same file `evaluate --scenario` can use). */
function demoProcessorConfig(): Record<string, unknown> {
  return parseYaml(readFileSync(fileURLToPath(new URL('./processor.yaml', import.meta.url)), 'utf8')) as Record<string, unknown>;
}

let stopping = false;
async function shutdown(why: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  say(`stopping (${why}) …`);
  for (const c of closers.reverse()) {
    await c.close().catch((err) => say(`${c.name}: ${(err as Error).message}`));
  }
  cleanupAll();
  say('all stopped.');
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('Ctrl-C'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));

main().catch(async (err) => {
  console.error(`demo failed: ${(err as Error).message}`);
  await shutdown('error');
});
