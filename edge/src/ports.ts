import type { Logger } from 'pino';
import type { PortConfig } from './config.js';
import type { PortCounters } from './counters.js';
import { getDriver, type Frame } from './drivers/index.js';
import type { FrameErrorReason } from './errors.js';
import { LinePort } from './serial-port.js';

/** Where an open port reports: good frames, and bad ones with their reason. */
export interface PortEvents {
  frame(frame: Frame): void;
  bad(reason: FrameErrorReason, message: string): void;
}

export interface OpenPort {
  close(): Promise<void>;
}

/**
 * Opens one configured port with its driver: a line driver behind a {@link LinePort} (reopen,
 * watchdog, framer) or a polling driver (Modbus) that owns its port. Counts frames and the
 * open/reopen state in `counters`; bad frames go to `events.bad`, which decides what to count and log.
 */
export function openPort(p: PortConfig, counters: PortCounters, log: Logger, events: PortEvents): OpenPort {
  const spec = getDriver(p.driver);
  if (!spec) throw new Error(`unknown driver ${p.driver}`); // loadEdgeConfig rejects it first
  if (spec.kind === 'line') return new LinePort(p, spec, counters, log, events.frame, events.bad);
  return spec.start(p.options, {
    path: p.path,
    baudRate: p.baudRate,
    log,
    frame: (f) => {
      counters.frames += 1;
      events.frame(f);
    },
    bad: events.bad,
    status: (open) => {
      counters.open = open;
      if (!open) counters.reopens += 1;
    },
    silent: () => {
      counters.silent += 1;
    },
  });
}
