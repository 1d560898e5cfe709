/**
 * `npm run bench:sim`: 100 boards at 10 Hz on real ptys (socat). Measures the simulator's CPU
 * (% of one core, process.cpuUsage over a steady window) and RSS, against a baseline measured in
 * the same run: the same boards open but idle. Targets (issue 3): < 15% of one core, < 150 MB.
 */
import { fork } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { cleanupAll, sleep } from '@fieldline/harness';
import { resolveScenario, startSimulation } from '../src/index.js';

const WARMUP_MS = 3_000;
const WINDOW_MS = 10_000;
const CLK_TCK = 100;

interface Window {
  cpuPct: number;
  rssMb: number;
  socatCpuPct: number;
  lines: number;
}

/** CPU ticks of our socat children (they carry the bytes between the two ptys of each pair). */
function socatTicks(): number {
  let ticks = 0;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (stat.includes('(socat)') && Number(fields[1]) === process.pid) ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // the process went away while we looked
    }
  }
  return ticks;
}

const scenario = resolveScenario('fleet-load');
const boardCount = scenario.devices.reduce((n, d) => n + d.boards.length, 0);
const hz = scenario.devices[0]!.boards[0]!.hz;
process.stdout.write(`starting ${boardCount} boards at ${hz} Hz on socat ptys…\n`);
const sim = await startSimulation(scenario, { seed: 1, paused: true });
const reader = fork(fileURLToPath(new URL('./tty-reader.ts', import.meta.url)), sim.boards.map((b) => b.path), { execArgv: ['--import', 'tsx'] });
type Counts = { bytes: number; lines: number };
const counts = (): Promise<Counts> =>
  new Promise((resolve) => {
    reader.once('message', (m: Counts) => resolve(m));
    reader.send('count');
  });
await new Promise((r) => reader.once('message', r));

async function measure(): Promise<Window> {
  const c0 = process.cpuUsage();
  const s0 = socatTicks();
  const l0 = (await counts()).lines;
  const t0 = performance.now();
  let rss = process.memoryUsage().rss;
  for (let t = 0; t < WINDOW_MS; t += 500) {
    await sleep(500);
    rss = Math.max(rss, process.memoryUsage().rss);
  }
  const wallMs = performance.now() - t0;
  const c = process.cpuUsage(c0);
  const lines = (await counts()).lines - l0;
  return {
    cpuPct: Math.round(((c.user + c.system) / 1000 / wallMs) * 1000) / 10,
    rssMb: Math.round(rss / 1e5) / 10,
    socatCpuPct: Math.round((((socatTicks() - s0) / CLK_TCK) * 1000 * 1000) / wallMs) / 10,
    lines: Math.round((lines / wallMs) * 1000),
  };
}

try {
  await sleep(1000);
  const baseline = await measure();
  sim.resume();
  await sleep(WARMUP_MS);
  const loaded = await measure();
  const dropped = sim.stats().reduce((n, s) => n + s.dropped, 0);
  const row = (name: string, w: Window): string =>
    `${name.padEnd(22)}${String(w.cpuPct).padStart(10)}${String(w.rssMb).padStart(10)}${String(w.socatCpuPct).padStart(12)}${String(w.lines).padStart(12)}`;
  process.stdout.write(`\n${'phase'.padEnd(22)}${'cpu %'.padStart(10)}${'rss MB'.padStart(10)}${'socat cpu %'.padStart(12)}${'frames/s'.padStart(12)}\n`);
  process.stdout.write(`${row(`baseline (idle ${boardCount})`, baseline)}\n${row(`${boardCount} boards @ ${hz} Hz`, loaded)}\n`);
  process.stdout.write(`targets: cpu < 15% of one core, rss < 150 MB; expected ${boardCount * hz} frames/s; dropped ${dropped}\n`);
  process.stdout.write(
    `${JSON.stringify({
      boards: boardCount,
      hz,
      cpu_pct_one_core: loaded.cpuPct,
      rss_mb: loaded.rssMb,
      baseline_cpu_pct_one_core: baseline.cpuPct,
      baseline_rss_mb: baseline.rssMb,
      socat_cpu_pct_one_core: loaded.socatCpuPct,
      frames_per_s: loaded.lines,
      expected_frames_per_s: boardCount * hz,
      frames_dropped: dropped,
    })}\n`,
  );
} finally {
  reader.kill();
  await sim.close();
  cleanupAll();
}
