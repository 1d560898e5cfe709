/**
 * The edge agent's footprint, measured as the .deb ships it: the staged /usr/lib/fieldline-edge,
 * started with the systemd unit's node flags and script, as a child process against an aedes
 * broker, reading 10 sensors at 10 Hz on real ptys. Used by `npm run bench:edge` (edge.ts) and by
 * the end-to-end `npm run bench` (bench/), so both report the same measurement.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Aedes } from 'aedes';
import { stringify } from 'yaml';
import { freePort, onCleanup, procStats, PtyPair, sleep, tempDir } from '@fieldline/harness';
import { stageLib, unitCommand } from '../src/packaging/build-deb.js';

export const SENSORS = 10;
export const HZ = 10;

export interface Received {
  readings: number;
  batches: Set<string>;
  /** `seen[value]` = 1 for each reading value below `seen.length` (the drain numbers its readings). */
  seen: Uint8Array;
  dup: number;
  last: number;
  first: number;
}

/** An in-process aedes on a free port that counts the telemetry readings it receives. */
export async function startBroker(seenSize = 0): Promise<{ url: string; received: Received; close(): Promise<void> }> {
  const broker = await Aedes.createBroker();
  const port = await freePort();
  const server = createServer(broker.handle);
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
  const received: Received = { readings: 0, batches: new Set<string>(), seen: new Uint8Array(seenSize), dup: 0, last: 0, first: 0 };
  broker.on('publish', (packet) => {
    if (!packet.topic.endsWith('/telemetry')) return;
    const env = JSON.parse(packet.payload.toString()) as { epoch: string; seq: number; readings: { value: number }[] };
    if (!env.readings.length) return;
    const id = `${env.epoch}:${env.seq}`;
    if (received.batches.has(id)) return void (received.dup += 1);
    received.batches.add(id);
    for (const r of env.readings) if (r.value < seenSize) received.seen[r.value] = 1;
    received.readings += env.readings.length;
    received.first ||= performance.now();
    received.last = performance.now();
  });
  return {
    url: `mqtt://127.0.0.1:${port}`,
    received,
    close: async () => {
      await new Promise<void>((r) => server.close(() => r()));
      await new Promise<void>((r) => broker.close(() => r()));
    },
  };
}

/** The node flags and script of the shipped systemd unit, the script mapped into a freshly staged `lib`. */
export async function shippedAgentCommand(): Promise<string[]> {
  return unitCommand((await stageLib(tempDir('bench-lib'))).lib);
}

export function spawnAgent(agentCommand: string[], configFile: string): ChildProcess {
  const args = [...(process.env.FL_AGENT_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.FL_AGENT_PROF}`] : []), ...agentCommand, 'run', '--config', configFile];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  onCleanup(() => child.kill('SIGKILL'));
  return child;
}

export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

export function writeConfig(dir: string, url: string, extra: Record<string, unknown>): string {
  const file = join(dir, 'edge.yaml');
  writeFileSync(
    file,
    stringify({
      device: 'bench-1',
      stateDir: join(dir, 'state'),
      mqtt: { url, reconnect: { minMs: 100, maxMs: 1000 } },
      heartbeat: { intervalMs: 10_000 },
      clock: { assumeSynced: true },
      log: { level: 'warn' },
      ...extra,
    }),
  );
  return file;
}

export interface SteadyState {
  agent_rss_mb: number;
  agent_rss_max_mb: number;
  /** % of one core. */
  agent_cpu_pct: number;
  /** What the CPU figure bought: the readings that reached the broker in the window. */
  steady_readings_per_s: number;
  idle_node_rss_mb: number;
  idle_node_cpu_pct: number;
}

/**
 * RSS and CPU of the agent reading 10 sensors at 10 Hz (10 ptys, one sensor each) over `windowS`
 * after `warmupS` (start-up and JIT warm-up are not steady state), beside an idle node process
 * measured over the same window (baseline).
 */
export async function steadyState(agentCommand: string[], broker: { url: string; received: { readings: number } }, { windowS = 30, warmupS = 8 } = {}): Promise<SteadyState> {
  const { url, received } = broker;
  const ptys = await Promise.all(Array.from({ length: SENSORS }, () => PtyPair.create()));
  const dir = tempDir('bench-steady');
  const cfg = writeConfig(dir, url, {
    ports: ptys.map((p, i) => ({ id: `p${i}`, path: p.hostPath, driver: 'text-kv', channels: { temp: { sensor: `s${i}`, unit: 'C' } } })),
  });
  const agent = spawnAgent(agentCommand, cfg);
  const idle = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  onCleanup(() => idle.kill('SIGKILL'));
  const fds = ptys.map((p) => openSync(p.devicePath, 'w'));
  let k = 0;
  const gen = setInterval(() => {
    k += 1;
    fds.forEach((fd) => writeSync(fd, `temp=${(20 + Math.sin(k / 50)).toFixed(3)}\r\n`));
  }, 1000 / HZ);
  await sleep(warmupS * 1000);
  const stats = (pid: number | undefined) => {
    const s = procStats(pid);
    if (!s) throw new Error(`process ${pid} exited during the edge footprint measurement`);
    return s;
  };
  const a0 = stats(agent.pid);
  const b0 = stats(idle.pid);
  const r0 = received.readings;
  const t0 = performance.now();
  let rssMax = 0;
  for (let s = 0; s < windowS; s++) {
    await sleep(1000);
    rssMax = Math.max(rssMax, stats(agent.pid).rssMb);
  }
  const secs = (performance.now() - t0) / 1000;
  const a1 = stats(agent.pid);
  const b1 = stats(idle.pid);
  const r1 = received.readings;
  clearInterval(gen);
  fds.forEach((fd) => closeSync(fd));
  await stopChild(agent);
  idle.kill('SIGKILL');
  await Promise.all(ptys.map((p) => p.close()));
  return {
    agent_rss_mb: a1.rssMb,
    agent_rss_max_mb: rssMax,
    agent_cpu_pct: ((a1.cpuSeconds - a0.cpuSeconds) / secs) * 100,
    steady_readings_per_s: (r1 - r0) / secs,
    idle_node_rss_mb: b1.rssMb,
    idle_node_cpu_pct: ((b1.cpuSeconds - b0.cpuSeconds) / secs) * 100,
  };
}

/** The whole steady-state measurement with its own staged agent and broker (what `npm run bench` calls). */
export async function measureEdgeFootprint(opts: { windowS?: number; warmupS?: number } = {}): Promise<SteadyState> {
  const command = await shippedAgentCommand();
  const broker = await startBroker();
  try {
    return await steadyState(command, broker, opts);
  } finally {
    await broker.close();
  }
}
