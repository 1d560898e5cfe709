import { closeSync, openSync, writeSync } from 'node:fs';
import { expect } from 'vitest';
import { PtyPair, waitFor } from '@fieldline/harness';
import { getDriver, startEdge, type FrameErrorReason } from '../src/index.js';
import { MAX_SMOOTHED_STEP_MS } from '../src/clock.js';
import { quietLogger, TestBroker, testConfig } from './helpers.js';

export interface LineConformanceCase {
  driver: string;
  /** Port `options` for the driver. */
  options?: Record<string, unknown>;
  /** channel -> sensor mapping used by the frames below. */
  channels: Record<string, { sensor: string; scale?: number; offset?: number; unit?: string }>;
  /** Valid frames (with terminator) and the [sensor, value] pairs each must produce. */
  good: Array<{ frame: string; readings: Array<[string, number]>; boardTs?: number }>;
  /** Invalid frames (with terminator) and the reason each must be counted under. */
  bad: Array<{ frame: string; reason: FrameErrorReason }>;
}

function writeTo(path: string, data: string | Buffer): void {
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, typeof data === "string" ? Buffer.from(data) : data);
  } finally {
    closeSync(fd);
  }
}

/**
 * What every line driver must do on a real tty (the plugin conformance suite): parse its good
 * frames, count each bad frame by reason, drop over-long lines and raw garbage without losing the
 * next good frame, and keep working after the adapter is unplugged and plugged back in.
 */
export async function lineDriverConformance(c: LineConformanceCase): Promise<void> {
  const spec = getDriver(c.driver);
  expect(spec?.kind).toBe('line');
  const broker = await TestBroker.start();
  const pty = await PtyPair.create();
  const cfg = testConfig(broker.url, {
    ports: [{ id: 'p', path: pty.hostPath, driver: c.driver, options: c.options ?? {}, maxFrameBytes: 128, timestamps: 'board', channels: c.channels }],
  });
  const edge = await startEdge(cfg, { logger: quietLogger() });
  const counts = (): Partial<Record<FrameErrorReason, number>> => edge.health().ports.p!.bad_frames;
  try {
    await waitFor(() => edge.health().ports.p!.open && edge.health().connected, { what: 'port open and broker connected' });
    const expected: Array<[string, number]> = [];
    const expectedCounts: Partial<Record<FrameErrorReason, number>> = {};
    const bump = (r: FrameErrorReason): void => void (expectedCounts[r] = (expectedCounts[r] ?? 0) + 1);
    // Good and bad frames interleaved, then an over-long line and binary garbage, then a good frame.
    const stream: string[] = [];
    c.good.forEach((g, i) => {
      stream.push(g.frame);
      expected.push(...g.readings);
      const b = c.bad[i % c.bad.length];
      if (b) {
        stream.push(b.frame);
        bump(b.reason);
      }
    });
    for (const b of c.bad.slice(c.good.length)) {
      stream.push(b.frame);
      bump(b.reason);
    }
    writeTo(pty.devicePath, stream.join(''));
    writeTo(pty.devicePath, Buffer.concat([Buffer.from('9'.repeat(300) + '\r\n'), Buffer.from([0x00, 0xff, 0x80, 0x1b, 0x0a])]));
    bump('over_long');
    bump('garbage');
    writeTo(pty.devicePath, c.good[0]!.frame);
    expected.push(...c.good[0]!.readings);
    await waitFor(() => broker.readings().length >= expected.length, { what: `${expected.length} readings` });
    await waitFor(() => JSON.stringify(counts()) === JSON.stringify(sortKeys(expectedCounts)) || null, { what: 'bad-frame counters', timeoutMs: 3000 }).catch(() => undefined);
    expect(sortKeys(counts())).toEqual(sortKeys(expectedCounts));
    const got = broker.readings();
    expect(got.map((r) => [r.sensor, r.value])).toEqual(expected);
    const withBoardTs = c.good.find((g) => g.boardTs !== undefined);
    if (withBoardTs) expect(got.some((r) => Math.abs(r.ts - withBoardTs.boardTs!) < 1)).toBe(true);
    for (const sensor of new Set(got.map((r) => r.sensor))) {
      const ts = got.filter((r) => r.sensor === sensor).map((r) => r.ts);
      // Strictly increasing across small steps; a board time far behind the last one (good[0]'s
      // 2023 stamp written again after host-clock frames) is kept as the board said (clock.ts).
      ts.slice(1).forEach((t, i) => {
        if (ts[i]! - t <= MAX_SMOOTHED_STEP_MS) expect(t).toBeGreaterThan(ts[i]!);
        else expect(c.good.some((g) => g.boardTs !== undefined && Math.abs(g.boardTs - t) < 1)).toBe(true);
      });
    }

    await pty.unplug();
    await waitFor(() => !edge.health().ports.p!.open, { what: 'port closed after unplug' });
    await pty.replug();
    await waitFor(() => edge.health().ports.p!.open, { what: 'port reopened after replug', timeoutMs: 15_000 });
    const before = broker.readings().length;
    writeTo(pty.devicePath, c.good[0]!.frame);
    await waitFor(() => broker.readings().length >= before + c.good[0]!.readings.length, { what: 'readings after replug' });
  } finally {
    await edge.close();
    await pty.close();
    await broker.close();
  }
}

function sortKeys<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b))) as T;
}
