import pino, { type Logger } from 'pino';
import { Agent, type EdgeHealth } from './agent.js';
import { SystemClock, type ClockSource } from './clock.js';
import type { EdgeConfig } from './config.js';

export { loadEdgeConfig, edgeConfigSchema, DEFAULT_CONFIG_PATH, type EdgeConfig, type PortConfig, type ChannelConfig } from './config.js';
export { EdgeConfigError, EdgeStateError, EdgeUsageError, FrameError, type FrameErrorReason } from './errors.js';
export { ManualClock, SystemClock, Timestamper, type ClockSource } from './clock.js';
export { driverIds, getDriver, registerDriver, type DriverSpec, type Frame, type LineDriverSpec, type PollDriverSpec } from './drivers/index.js';
export { DiskQueue, type BatchInfo, type QueueOptions } from './queue.js';
export { LineFramer } from './line-framer.js';
export type { EdgeHealth } from './agent.js';

export interface StartEdgeOptions {
  /** @default a pino logger at `config.log.level` on stdout */
  logger?: Logger;
  /** @default the system clock (NTP sync from `config.clock`) */
  clock?: ClockSource;
}

export interface Edge {
  /** epoch of this state dir (batch ids are `{device}:{epoch}:{seq}`). */
  readonly epoch: string;
  /** Counters and health: queue depth, drops, bad frames by port and reason, clock, uplink. */
  health(): EdgeHealth;
  /** The flat figures sent in heartbeats (`envelope.health`). */
  healthFigures(): Record<string, number>;
  /** Stops ports and MQTT (publishing `offline`); queued readings stay on disk for the next start. */
  close(): Promise<void>;
}

/** Starts the agent: opens its state dir, serial ports and the MQTT uplink. */
export async function startEdge(config: EdgeConfig, opts: StartEdgeOptions = {}): Promise<Edge> {
  const logger = (opts.logger ?? pino({ level: config.log.level, base: { device: config.device } })).child({ component: 'edge' });
  const clock = opts.clock ?? new SystemClock(config.clock);
  const agent = new Agent(config, clock, logger);
  logger.info({ epoch: agent.state.epoch, ports: config.ports.length, queued: agent.queue.depth }, 'edge agent started');
  let closing: Promise<void> | undefined;
  return {
    epoch: agent.state.epoch,
    health: () => agent.health(),
    healthFigures: () => agent.healthFigures(),
    close: () => (closing ??= agent.close()),
  };
}
