/**
 * Gateway throughput with PUBACK-after-store: a fleet of simulated devices (firmware-sim fleet
 * mode, in this process) publishes QoS 1 envelopes to the gateway (a child process, via its CLI),
 * which stores each in JetStream (nats-server, a third process) before the PUBACK. Baselines in
 * the same run: a NATS client publishing the same payloads straight to the stream with acks, via
 * nats.js's `js.publish` and via the pipelined publisher the gateway uses.
 *
 *   npm run bench:gateway
 * BENCH_SECONDS, BENCH_DEVICES, BENCH_INFLIGHT, BENCH_BUNDLE_BYTES override the defaults; GATEWAY_NODE_ARGS adds node flags (after GATEWAY_NODE_FLAGS) to the
 * gateway process (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile it).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeEnvelope, isBundle, parseBundle, type Envelope } from '@fieldline/contract';
import { runFleet, type FleetResult } from '@fieldline/firmware-sim';
import { cleanupAll, freePort, ManagedProcess, NatsServer, tempDir } from '@fieldline/harness';
import { connect, DeliverPolicy, type NatsConnection } from 'nats';
import { addDevice, GATEWAY_NODE_FLAGS } from '../src/index.js';
import { JetStreamPublisher } from '../src/js-publisher.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const DEVICES = Number(process.env.BENCH_DEVICES ?? 50);
const BATCH = 100;
// Unacknowledged QoS 1 PUBLISHes per device (MQTT's receive window on the device side).
const INFLIGHT = Number(process.env.BENCH_INFLIGHT ?? 64);
/** The gateway's `nats.bundleBytes` (0: every envelope its own JetStream message); unset: the gateway's default. */
const BUNDLE_BYTES = process.env.BENCH_BUNDLE_BYTES;
const PASSWORD = 'bench-password-1';
const CLI = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function envelopeBytes(device: string, seq: number, readings: number): Uint8Array {
  const now = Date.now();
  const env: Envelope = {
    v: 1,
    device,
    epoch: 'rawbench01',
    seq,
    clock: { synced: true, now },
    readings: Array.from({ length: readings }, (_, i) => ({ sensor: `s${i % 4}`, ts: now + i, value: 20 + (i % 7) / 10 })),
  };
  return Buffer.from(encodeEnvelope(env));
}

/**
 * Raw JetStream baseline: acked publishes, `window` in flight, for `seconds`, through nats.js's
 * `js.publish` (`lean` false) or the gateway's own pipelined publisher (`lean` true).
 */
async function rawJetStream(nc: NatsConnection, readings: number, seconds: number, lean: boolean, window = 256): Promise<{ msgsPerS: number; readingsPerS: number }> {
  const js = nc.jetstream();
  const publisher = new JetStreamPublisher(nc, 5000);
  const device = `raw-${readings}-${lean ? 'lean' : 'js'}`;
  const payloads = Array.from({ length: 64 }, (_, i) => envelopeBytes(device, i + 1, readings));
  let seq = 0;
  let acked = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  const worker = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const s = ++seq;
      const subject = `fl.telemetry.0.${device}`;
      const payload = payloads[s % payloads.length]!;
      const msgID = `${device}:rawbench01:${s}`;
      await (lean ? publisher.publish(subject, payload, msgID) : js.publish(subject, payload, { msgID }));
      acked++;
    }
  };
  await Promise.all(Array.from({ length: window }, worker));
  publisher.close();
  const elapsed = (performance.now() - started) / 1000;
  return { msgsPerS: acked / elapsed, readingsPerS: (acked * readings) / elapsed };
}

/** utime + stime of a process, in seconds (Linux /proc). */
function cpuSeconds(pid: number | undefined): number {
  if (!pid) return NaN;
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // clock ticks (USER_HZ = 100)
}


/** Runs `fn` and reports the CPU (% of one core) each process used meanwhile. */
async function withCpu<T>(pids: { gateway?: number; nats?: number }, fn: () => Promise<T>): Promise<T & { cpu: { gateway: number; nats: number; bench: number } }> {
  const t0 = performance.now();
  const g0 = cpuSeconds(pids.gateway);
  const n0 = cpuSeconds(pids.nats);
  const b0 = process.cpuUsage();
  const r = await fn();
  const wall = (performance.now() - t0) / 1000;
  const b = process.cpuUsage(b0);
  const pct = (sec: number) => Math.round((sec / wall) * 100);
  return { ...r, cpu: { gateway: pct(cpuSeconds(pids.gateway) - g0), nats: pct(cpuSeconds(pids.nats) - n0), bench: pct((b.user + b.system) / 1e6) } };
}

function rssMb(pid: number | undefined): number {
  if (!pid) return NaN;
  const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+) kB/);
  return m ? Math.round(Number(m[1]) / 1024) : NaN;
}

async function lastSeq(nc: NatsConnection): Promise<number> {
  return (await (await nc.jetstreamManager()).streams.info('TELEMETRY')).state.last_seq;
}

/** Envelopes TELEMETRY holds after stream sequence `after`, a bundle's counted one by one (read back, not assumed). */
async function envelopesAfter(nc: NatsConnection, after: number): Promise<number> {
  const last = await lastSeq(nc);
  if (last <= after) return 0;
  const consumer = await nc.jetstream().consumers.get('TELEMETRY', { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: after + 1 });
  const messages = await consumer.consume({ max_messages: 1024 });
  let n = 0;
  for await (const m of messages) {
    n += isBundle(m.data) ? parseBundle(m.data).envelopes.length : 1;
    if (m.seq >= last) break;
  }
  messages.stop();
  return n;
}

async function main(): Promise<void> {
  const nats = await NatsServer.start();
  const nc = await connect({ servers: nats.url, noAsyncTraces: true }); // as the gateway connects
  const dir = tempDir('gwbench');
  const registry = join(dir, 'devices.json');
  const ids = Array.from({ length: DEVICES }, (_, i) => `bench-${i + 1}`);
  for (const id of ids) await addDevice(registry, id, PASSWORD);
  const mqttPort = await freePort();
  const config = join(dir, 'gateway.yaml');
  writeFileSync(
    config,
    [
      `mqtt: { host: 127.0.0.1, port: ${mqttPort}, connectionRatePerS: 1000, connectionBurst: 1000 }`,
      `auth: { registryFile: ${registry} }`,
      `limits: { messagesPerS: 1000000, messageBurst: 1000000, bytesPerS: 1000000000, byteBurst: 1000000000 }`,
      `nats: { servers: ["${nats.url}"]${BUNDLE_BYTES === undefined ? '' : `, bundleBytes: ${Number(BUNDLE_BYTES)}`} }`,
      `http: null`,
      `log: { level: warn }`,
    ].join('\n'),
  );
  const gateway = new ManagedProcess({
    name: 'fieldline-gateway',
    command: process.execPath,
    args: [...GATEWAY_NODE_FLAGS, ...(process.env.GATEWAY_NODE_ARGS?.split(' ').filter(Boolean) ?? []), '--conditions=fieldline-src', '--import', 'tsx', CLI, 'run', '--config', config],
    cwd: ROOT,
    readyTimeoutMs: 30_000,
    // log level warn hides "gateway ready"; the MQTT port accepting connections is the signal.
    ready: async () => {
      const { connect: tcp } = await import('node:net');
      return new Promise<boolean>((r) => {
        const s = tcp(mqttPort, '127.0.0.1', () => (s.destroy(), r(true)));
        s.on('error', () => r(false));
      });
    },
  });
  await gateway.start();
  // Warm-up: opens the sessions once (scrypt per device) and JIT-compiles the hot path.
  const url = `mqtt://127.0.0.1:${mqttPort}`;
  const credentials = (id: string) => ({ username: id, password: PASSWORD });
  await runFleet({ url, devices: ids, credentials, rate: 0, readingsPerEnvelope: 10, durationMs: 2000 });

  const pids = { gateway: gateway.pid, nats: nats.pid };
  const raw1 = await withCpu(pids, () => rawJetStream(nc, 1, SECONDS, false));
  const rawB = await withCpu(pids, () => rawJetStream(nc, BATCH, SECONDS, false));
  const lean1 = await withCpu(pids, () => rawJetStream(nc, 1, SECONDS, true));
  const leanB = await withCpu(pids, () => rawJetStream(nc, BATCH, SECONDS, true));

  // The envelopes stored are read back after the phase, outside its CPU figures.
  const phase = async (readingsPerEnvelope: number): Promise<FleetResult & { stored: number; cpu: { gateway: number; nats: number; bench: number } }> => {
    const before = await lastSeq(nc);
    const r = await withCpu(pids, () => runFleet({ url, devices: ids, credentials, rate: 0, readingsPerEnvelope, durationMs: SECONDS * 1000, maxInflight: INFLIGHT }));
    return { ...r, stored: await envelopesAfter(nc, before) };
  };
  const batched = await phase(BATCH);
  const single = await phase(1);
  const rss = rssMb(gateway.pid);
  await gateway.stop();
  await nc.close();
  await nats.stop();

  const perS = (r: FleetResult, n: number) => (n / r.elapsedMs) * 1000;
  const cpu = (c: { gateway: number; nats: number; bench: number }, gw: boolean) => `${gw ? c.gateway : '-'}/${c.nats}/${c.bench}`;
  const rows: string[][] = [
    ['path', 'readings/envelope', 'envelopes/s', 'readings/s', 'PUBACK p50/p99 ms', 'CPU % gateway/nats/bench'],
    ['raw JetStream, nats.js js.publish', '1', raw1.msgsPerS.toFixed(0), raw1.readingsPerS.toFixed(0), '-', cpu(raw1.cpu, false)],
    ['raw JetStream, nats.js js.publish', String(BATCH), rawB.msgsPerS.toFixed(0), rawB.readingsPerS.toFixed(0), '-', cpu(rawB.cpu, false)],
    ['raw JetStream, pipelined publisher', '1', lean1.msgsPerS.toFixed(0), lean1.readingsPerS.toFixed(0), '-', cpu(lean1.cpu, false)],
    ['raw JetStream, pipelined publisher', String(BATCH), leanB.msgsPerS.toFixed(0), leanB.readingsPerS.toFixed(0), '-', cpu(leanB.cpu, false)],
    ['gateway, PUBACK after store', String(BATCH), perS(batched, batched.envelopesAcked).toFixed(0), perS(batched, batched.readingsAcked).toFixed(0), `${batched.pubackLatencyMs.p50}/${batched.pubackLatencyMs.p99}`, cpu(batched.cpu, true)],
    ['gateway, PUBACK after store', '1', perS(single, single.envelopesAcked).toFixed(0), perS(single, single.readingsAcked).toFixed(0), `${single.pubackLatencyMs.p50}/${single.pubackLatencyMs.p99}`, cpu(single.cpu, true)],
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  console.log(`gateway bench: ${DEVICES} devices, ${SECONDS} s per phase, 2-core shared machine`);
  for (const r of rows) console.log(r.map((c, i) => c.padEnd(widths[i]!)).join('  '));
  console.log(
    `stored in JetStream: batched ${batched.stored}/${batched.envelopesAcked} acked, single ${single.stored}/${single.envelopesAcked} acked; publish errors ${batched.errors + single.errors}; gateway RSS ${rss} MB`,
  );
  console.log(
    JSON.stringify({
      batched_readings_per_s: Math.round(perS(batched, batched.readingsAcked)),
      batched_envelopes_per_s: Math.round(perS(batched, batched.envelopesAcked)),
      single_envelopes_per_s: Math.round(perS(single, single.envelopesAcked)),
      raw_js_single_msgs_per_s: Math.round(raw1.msgsPerS),
      raw_js_batched_readings_per_s: Math.round(rawB.readingsPerS),
      raw_pipelined_single_msgs_per_s: Math.round(lean1.msgsPerS),
      raw_pipelined_batched_readings_per_s: Math.round(leanB.readingsPerS),
      batched_puback_p99_ms: batched.pubackLatencyMs.p99,
      single_puback_p99_ms: single.pubackLatencyMs.p99,
      stored_minus_acked_envelopes: batched.stored + single.stored - batched.envelopesAcked - single.envelopesAcked,
      gateway_rss_mb: rss,
      devices: DEVICES,
      phase_s: SECONDS,
    }),
  );
}

try {
  await main();
} finally {
  cleanupAll();
}
