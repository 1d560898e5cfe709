import { closeSync, openSync, writeSync } from 'node:fs';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { cleanupAll, PtyPair, sleep, waitFor } from '@fieldline/harness';
import { ManualClock, startEdge, Timestamper, type Edge, type EdgeConfig } from '../src/index.js';
import { quietLogger, TestBroker, testConfig } from './helpers.js';

afterAll(() => cleanupAll());

const write = (path: string, text: string): void => {
  const fd = openSync(path, 'w');
  writeSync(fd, text);
  closeSync(fd);
};

describe('Timestamper', () => {
  it('keeps times strictly increasing per sensor when the clock steps back or repeats', () => {
    const t = new Timestamper();
    const out = [1000, 1000, 999, 500, 1000.0004, 2000].map((ts) => t.stamp('a', ts));
    expect(out).toEqual([1000, 1000.001, 1000.002, 1000.003, 1000.004, 2000]);
    expect(t.stamp('b', 500)).toBe(500);
  });

  it('does not smooth a big jump back: after a board clock at 2100, the right time is kept (not 2100 + 1 µs forever)', () => {
    const t = new Timestamper();
    const now = Date.UTC(2026, 5, 1);
    const out = [now, Date.UTC(2100, 0, 1), now + 200, now + 300, now + 300 - 30_000, now - 3_600_000].map((ts) => t.stamp('a', ts));
    expect(out).toEqual([now, Date.UTC(2100, 0, 1), now + 200, now + 300, now + 300.001, now - 3_600_000]);
  });
});

describe('clock-aware timestamps in the agent', () => {
  let broker: TestBroker;
  let pty: PtyPair;
  let edge: Edge | undefined;
  let lastConfig: EdgeConfig | undefined;

  afterEach(async () => {
    await edge?.close();
    await pty?.close();
    await broker?.close();
  });

  async function start(clock: ManualClock, unsynced: 'send' | 'hold'): Promise<Edge> {
    broker = await TestBroker.start();
    pty = await PtyPair.create();
    const cfg = testConfig(broker.url, {
      clock: { unsynced, checkMs: 100 },
      ports: [{ id: 'p', path: pty.hostPath, driver: 'text-kv', channels: { temp: { sensor: 'temp' } } }],
    });
    lastConfig = cfg;
    edge = await startEdge(cfg, { logger: quietLogger(), clock });
    await waitFor(() => edge!.health().ports.p!.open && edge!.health().connected, { what: 'port open and connected' });
    return edge;
  }

  it('send policy: unsynced readings are flagged uncertain, and a clock stepping back never makes two collide', async () => {
    const clock = new ManualClock({ now: Date.UTC(2026, 0, 1), synced: false });
    const e = await start(clock, 'send');
    for (let i = 0; i < 3; i++) {
      write(pty.devicePath, `temp=${i}\r\n`);
      await waitFor(() => e.health().readings_in === i + 1, { what: `reading ${i} read` });
      clock.step(-10_000);
    }
    await waitFor(() => broker.readings().length === 3, { what: '3 readings' });
    const r = broker.readings();
    expect(r.map((x) => x.quality)).toEqual(['uncertain', 'uncertain', 'uncertain']);
    expect(r[1]!.ts).toBeGreaterThan(r[0]!.ts);
    expect(r[2]!.ts).toBeGreaterThan(r[1]!.ts);
    expect(broker.envelopes.find((x) => x.readings.length)!.clock.synced).toBe(false);
  });

  it('hold policy: nothing is sent while unsynced; once synced the monotonic clock corrects every time', async () => {
    const clock = new ManualClock({ now: Date.UTC(1970, 0, 2), synced: false });
    const e = await start(clock, 'hold');
    for (let i = 0; i < 3; i++) {
      write(pty.devicePath, `temp=${i}\r\n`);
      await waitFor(() => e.health().readings_held === i + 1, { what: `reading ${i} held` });
      clock.advance(1000);
    }
    await sleep(300);
    expect(broker.readings()).toEqual([]);
    const trueNow = Date.UTC(2026, 5, 1);
    clock.step(trueNow - clock.now());
    clock.isSynced = true;
    await waitFor(() => broker.readings().length === 3, { what: 'corrected readings' });
    // Read at mono m, m+1000, m+2000; synced at m+3000 with wall = trueNow.
    expect(broker.readings().map((x) => [x.value, x.ts, x.quality])).toEqual([
      [0, trueNow - 3000, undefined],
      [1, trueNow - 2000, undefined],
      [2, trueNow - 1000, undefined],
    ]);
    expect(e.health().readings_held).toBe(0);
  });

  it('hold policy: readings held when the agent stopped are corrected and sent by the next run once synced', async () => {
    const clock = new ManualClock({ now: Date.UTC(1970, 0, 2), synced: false });
    const e = await start(clock, 'hold');
    write(pty.devicePath, 'temp=7\r\n');
    await waitFor(() => e.health().readings_held === 1, { what: 'reading held' });
    await e.close();
    edge = undefined;
    clock.advance(5000);
    const trueNow = Date.UTC(2026, 5, 1);
    clock.step(trueNow - clock.now());
    clock.isSynced = true;
    edge = await startEdge(lastConfig!, { logger: quietLogger(), clock });
    await waitFor(() => broker.readings().length === 1, { what: 'corrected reading after restart' });
    expect(broker.readings()[0]).toMatchObject({ value: 7, ts: trueNow - 5000 });
  });
});
