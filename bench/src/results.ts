import type { SteadyState } from '../../edge/bench/footprint.js';
import type { Burst } from './burst.js';
import type { E2eRun } from './e2e.js';
import type { MachineSpeed } from './machine-speed.js';
import type { NodeRedBaseline } from './node-red.js';
import type { ProfileSummary } from './profile.js';
import type { RawInflux, RawRate } from './raw.js';
import type { Sweep } from './sweep.js';

export interface Machine {
  cpu: string;
  cores: number;
  mem_gb: number;
  os: string;
  node: string;
  /** 1-minute load average at the start and at the end: anything above ~0.5 at the start means the machine was not quiet. */
  load_avg_start: number;
  load_avg_end: number;
  /** machine-speed.ts, before the services started and after they stopped (absent in older files). */
  speed_start?: MachineSpeed;
  speed_end?: MachineSpeed;
  /** % of the machine's CPU time the hypervisor stole during the run (/proc/stat). */
  steal_pct?: number;
}

/** Everything one `npm run bench` measured (bench/results/*.json). */
export interface BenchResults {
  version: 1;
  started_at: string;
  duration_s: number;
  mode: 'default' | 'quick';
  options: Record<string, unknown>;
  machine: Machine;
  raw?: { aedes: RawRate[]; jetstream: RawRate[]; influx: RawInflux };
  e2e?: E2eRun[];
  sweep?: Sweep;
  burst?: Burst;
  node_red?: NodeRedBaseline;
  edge?: SteadyState;
  profiles?: ProfileSummary[];
  /** Phases that failed, with the error (the others still report). */
  errors?: Record<string, string>;
}
