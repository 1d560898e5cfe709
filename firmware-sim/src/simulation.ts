import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { PtyPair, tempDir } from '@fieldline/runtime/process';
import type { Logger } from 'pino';
import { SerialBoard, type BoardStats, type SentRecorder } from './board.js';
import { SimulationError } from './errors.js';
import { silentLogger } from './log.js';
import { planScenario } from './plan.js';
import type { Protocol, Scenario } from './scenario.js';

export interface SimulationOptions {
  /** Same scenario + seed (+ start) = byte-identical serial output. */
  seed: number;
  /** Where the tty symlinks and `ground-truth.jsonl` go. @default a temp dir removed at exit */
  dir?: string;
  /** Pace by the wall clock (true) or write as fast as each port drains (false). @default true */
  realtime?: boolean;
  /** Virtual seconds per wall second when `realtime`. @default 1 */
  speed?: number;
  /** Replaces the scenario's start (epoch ms), e.g. `Date.now()` so event time ≈ wall time in a demo. */
  start?: number;
  /** Virtual end (epoch ms, exclusive). @default start + scenario.duration, else run until `close()` */
  until?: number;
  /** Open every port but write nothing until `resume()` (lets a reader open the tty first). @default false */
  paused?: boolean;
  /**
   * JSON lines file receiving `{device, sensor, ts, value}` for every reading of every line frame
   * as its bytes are handed to the port (frames held while unplugged are recorded when written,
   * dropped ones never): the record of what was sent, for a ledger. Modbus answers are not recorded
   * (the edge times them). Frame faults (garbage, truncation) are written as sent too.
   */
  record?: string;
  logger?: Logger;
}

export interface SimulatedBoard {
  device: string;
  board: string;
  protocol: Protocol;
  baud: number;
  /** Channel names in frame/register order (channel i is Modbus register 2·i). */
  channels: string[];
  /** Each channel's unit (its signal model's, e.g. C, %, ppm, or the scenario's `unit`). */
  units: string[];
  /** Frames carry the board clock (`ts=` / first csv column / `"ts"`): the edge's csv `timeColumn`. */
  timestamps: boolean;
  /** Modbus slave id (modbus boards only). */
  unitId?: number;
  /** The tty the edge opens (its serial `path`): a stable symlink to the host side of the pty pair. */
  path: string;
}

export interface Simulation {
  boards: SimulatedBoard[];
  /** JSON lines `{device, sensor, kind, start, end}` (event time, ms) for every injected anomaly. */
  groundTruthPath: string;
  /** Resolves when every board has reached `until` (never, for an open-ended realtime run). */
  done: Promise<void>;
  resume(): void;
  /** Stops writing for good but keeps the ports open, so a reader gets every byte already written. */
  halt(): void;
  stats(): BoardStats[];
  /** Pulls / re-plugs a board's USB cable by hand (tests of the edge's reconnect). */
  unplug(device: string, board: string): Promise<void>;
  replug(device: string, board: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts every board of a scenario on its own pty pair (socat) and writes its serial protocol
 * on the device side with `serialport`. Sample times come from the virtual clock
 * (start + tick), never from `Date.now()`; the wall clock only decides when bytes are written.
 */
export async function startSimulation(scenarioIn: Scenario, opts: SimulationOptions): Promise<Simulation> {
  const scenario: Scenario = opts.start !== undefined ? { ...scenarioIn, start: opts.start } : scenarioIn;
  const log = (opts.logger ?? silentLogger).child({ component: 'simulation', scenario: scenario.name });
  const realtime = opts.realtime ?? true;
  const speed = opts.speed ?? 1;
  if (!(speed > 0)) throw new SimulationError(`speed must be > 0, got ${speed}`);
  const until = opts.until ?? (scenario.duration !== undefined ? scenario.start + scenario.duration : Infinity);
  const dir = opts.dir ?? tempDir('sim');
  mkdirSync(dir, { recursive: true });
  const plans = planScenario(scenario, opts.seed);
  const groundTruthPath = join(dir, 'ground-truth.jsonl');
  writeFileSync(groundTruthPath, plans.flatMap((p) => p.groundTruth).map((g) => `${JSON.stringify(g)}\n`).join(''));

  const boards: SerialBoard[] = [];
  const recordFd = opts.record !== undefined ? openSync(opts.record, 'a') : undefined;
  const recorder: SentRecorder | undefined =
    recordFd === undefined ? undefined : (readings) => void writeSync(recordFd, readings.map((r) => `${JSON.stringify(r)}\n`).join(''));
  const closeAll = async (): Promise<void> => {
    await Promise.all(boards.map((b) => b.close().catch((err) => log.warn({ err }, 'board close failed'))));
    if (recordFd !== undefined) closeSync(recordFd);
  };
  try {
    // Sequential: ~100 socat starts at once would swamp two shared cores.
    for (const plan of plans) {
      const name = `${plan.device}.${plan.board.id}`;
      const pair = await PtyPair.create({ dir, names: [`.${name}.board`, name] });
      const board = new SerialBoard(plan, pair, opts.seed, !realtime, until, log.child({ device: plan.device, board: plan.board.id }), recorder);
      boards.push(board);
      await board.open();
    }
  } catch (err) {
    await closeAll();
    throw new SimulationError(`could not start the boards: ${(err as Error).message}`, { cause: err });
  }

  let closed = false;
  let halted = false;
  let timer: NodeJS.Timeout | undefined;
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  let wallStart = 0;
  const virtualNow = (): number => scenario.start + (performance.now() - wallStart) * speed;

  // One timer for all boards: boards sharing a rate tick together, so 100 boards at 10 Hz wake it 10 times a second.
  const tick = (): void => {
    if (closed || halted) return;
    const now = virtualNow();
    let active = false;
    let next = Infinity;
    for (const b of boards) {
      if (b.advanceTo(now, until)) {
        active = true;
        next = Math.min(next, b.nextAt());
      }
    }
    if (!active) return resolveDone();
    timer = setTimeout(tick, Math.max(1, Math.min(1000, (next - virtualNow()) / speed)));
  };

  const resume = (): void => {
    if (wallStart) return;
    wallStart = performance.now();
    if (realtime) tick();
    else {
      Promise.all(boards.map((b) => b.runFast(until)))
        .then(() => resolveDone())
        .catch((err) => log.error({ err }, 'fast run failed'));
    }
  };
  if (!opts.paused) resume();

  const find = (device: string, board: string): SerialBoard => {
    const b = boards.find((x) => x.plan.device === device && x.plan.board.id === board);
    if (!b) throw new SimulationError(`no board ${device}/${board}`);
    return b;
  };

  log.info({ boards: boards.length, dir, realtime, speed }, 'simulation started');
  return {
    boards: boards.map((b) => ({
      device: b.plan.device,
      board: b.plan.board.id,
      protocol: b.plan.board.protocol,
      baud: b.plan.board.baud,
      channels: b.plan.channels.map((c) => c.channel.name),
      units: b.plan.channels.map((c) => c.params.unit),
      timestamps: b.plan.board.timestamps || b.plan.channels.some((c) => c.channel.model === 'replay'),
      ...(b.isModbus ? { unitId: b.plan.board.unitId } : {}),
      path: b.pair.hostPath,
    })),
    groundTruthPath,
    done,
    resume,
    halt: () => {
      halted = true;
      clearTimeout(timer);
      for (const b of boards) b.halt();
      resolveDone();
    },
    stats: () => boards.map((b) => structuredClone(b.stats)),
    unplug: (device, board) => find(device, board).pair.unplug(),
    replug: (device, board) => find(device, board).pair.replug().then(() => find(device, board).open()),
    close: async () => {
      closed = true;
      clearTimeout(timer);
      await closeAll();
      resolveDone();
    },
  };
}
