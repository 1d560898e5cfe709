/**
 * `npm run bench -- [options]`. The default run takes under 5 minutes on a 2-core machine;
 * `--quick` is a smoke run of about a minute that exercises every phase at a small scale.
 */
import { parseCliArgs, UsageError } from '@fieldline/runtime';

export const PHASES = ['raw', 'e2e', 'sweep', 'burst', 'node-red', 'edge'] as const;
export type Phase = (typeof PHASES)[number];

export interface BenchOptions {
  mode: 'default' | 'quick';
  /** Fleet devices for the end-to-end runs, the sweep and the baseline. @default 50 (quick 20) */
  devices: number;
  /** Readings per envelope of the closed-loop end-to-end runs (the sweep and baseline use the largest). @default [100, 10, 1] */
  sizes: number[];
  /** Each closed-loop end-to-end run. @default 10 (quick 3) */
  seconds: number;
  /** Each raw-limit run. @default 3 (quick 2) */
  rawSeconds: number;
  /** Offered loads of the sweep, % of the measured maximum. @default 10,25,50,75,100,110,120 (quick 50,100,120) */
  loads: number[];
  /** Each sweep step. @default 6 (quick 3) */
  stepSeconds: number;
  /**
   * Probe readings per second during the sweep. 50 gives ~275 samples a 6 s step, so its p99
   * (nearest rank) is the third-worst sample; at 12 Hz a step had 66 and its "p99" was the maximum.
   * @default 50
   */
  probeHz: number;
  /** @default 1000 (quick 100) */
  burstDevices: number;
  /** @default 10 (quick 2) */
  backlogMinutes: number;
  /**
   * Node-RED baseline: load per run; the open-loop loads tried after the closed-loop run, as
   * fractions of what it stored then; the longest wait for its writes after a run.
   * @default 8, [0.75, 0.5, 0.25], 30 (quick 3, [0.5], 10)
   */
  nodeRedSeconds: number;
  nodeRedLadder: number[];
  nodeRedWaitSeconds: number;
  /** Edge footprint window, after a warm-up. @default 10 after 5 (quick 3 after 3) */
  edgeSeconds: number;
  edgeWarmupSeconds: number;
  /** Unacknowledged QoS 1 publishes per device. @default 64 */
  maxInflight: number;
  skip: Set<Phase>;
  /** Results directory. @default bench/results */
  out: string;
  /** CPU profiles of the gateway, processor and API (whole run), summarized in the report. */
  profile: boolean;
  /** Processor processes sharing the partitions (one group, leases). @default 1 */
  processors: number;
}

export const USAGE = `usage: npm run bench -- [options]
  --quick                 smoke run (~1 minute): every phase at a small scale
  --seconds N             each closed-loop end-to-end run (default 10)
  --devices N             fleet devices (default 50)
  --sizes 100,10,1        readings per envelope of the end-to-end runs
  --loads 10,25,...,120   sweep steps, % of the maximum measured end to end
  --step-seconds N        each sweep step (default 6)
  --probe-hz N            latency probe readings per second in each sweep step (default 50)
  --burst-devices N       devices reconnecting at once (default 1000)
  --backlog-minutes N     each burst device's backlog (default 10)
  --skip a,b              leave out phases: ${PHASES.join(', ')}
  --out DIR               results directory (default bench/results)
  --profile               CPU-profile the gateway, processor and API; top functions in the report
  --processors N          processor processes sharing the partitions (default 1)
  --help`;

const list = (v: string, what: string): number[] => {
  const xs = v.split(',').map((s) => Number(s.trim()));
  if (xs.some((x) => !Number.isFinite(x) || x <= 0)) throw new UsageError(`--${what}: expected positive numbers separated by commas, got ${JSON.stringify(v)}`);
  return xs;
};

const positive = (v: string | undefined, what: string): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--${what}: expected a positive number, got ${JSON.stringify(v)}`);
  return n;
};

export function parseOptions(argv: string[], defaultOut: string): BenchOptions | 'help' {
  const { values } = parseCliArgs({
    args: argv,
    options: {
      quick: { type: 'boolean' },
      seconds: { type: 'string' },
      devices: { type: 'string' },
      sizes: { type: 'string' },
      loads: { type: 'string' },
      'step-seconds': { type: 'string' },
      'probe-hz': { type: 'string' },
      'burst-devices': { type: 'string' },
      'backlog-minutes': { type: 'string' },
      skip: { type: 'string' },
      out: { type: 'string' },
      profile: { type: 'boolean' },
      processors: { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) return 'help';
  const q = values.quick === true;
  const skip = new Set<Phase>();
  for (const s of values.skip?.split(',').map((x) => x.trim()).filter(Boolean) ?? []) {
    if (!(PHASES as readonly string[]).includes(s)) throw new UsageError(`--skip: unknown phase ${JSON.stringify(s)} (phases: ${PHASES.join(', ')})`);
    skip.add(s as Phase);
  }
  const sizes = values.sizes ? list(values.sizes, 'sizes').map(Math.round) : [100, 10, 1];
  if (sizes.some((s) => s > 5000)) throw new UsageError('--sizes: at most 5000 readings per envelope (the contract limit)');
  return {
    mode: q ? 'quick' : 'default',
    devices: Math.round(positive(values.devices, 'devices') ?? (q ? 20 : 50)),
    sizes,
    seconds: positive(values.seconds, 'seconds') ?? (q ? 3 : 10),
    rawSeconds: q ? 2 : 3,
    loads: values.loads ? list(values.loads, 'loads') : q ? [50, 100, 120] : [10, 25, 50, 75, 100, 110, 120],
    stepSeconds: positive(values['step-seconds'], 'step-seconds') ?? (q ? 3 : 6),
    probeHz: positive(values['probe-hz'], 'probe-hz') ?? 50,
    burstDevices: Math.round(positive(values['burst-devices'], 'burst-devices') ?? (q ? 100 : 1000)),
    backlogMinutes: positive(values['backlog-minutes'], 'backlog-minutes') ?? (q ? 2 : 10),
    nodeRedSeconds: q ? 3 : 8,
    nodeRedLadder: q ? [0.5] : [0.75, 0.5, 0.25],
    nodeRedWaitSeconds: q ? 10 : 30,
    edgeSeconds: q ? 3 : 10,
    edgeWarmupSeconds: q ? 3 : 5,
    maxInflight: 64,
    skip,
    out: values.out ?? defaultOut,
    profile: values.profile === true,
    processors: Math.round(positive(values.processors, 'processors') ?? 1),
  };
}
