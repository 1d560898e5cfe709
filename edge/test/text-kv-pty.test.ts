import { openSync, writeSync, closeSync } from 'node:fs';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupAll, PtyPair, waitFor } from '@fieldline/harness';
import { startEdge } from '../src/index.js';
import { quietLogger, TestBroker, testConfig } from './helpers.js';

afterAll(() => cleanupAll());

describe('text-kv over a real pty', () => {
  it('sends readings, drops garbage and over-long lines, survives unplug/replug', async () => {
    const broker = await TestBroker.start();
    const pty = await PtyPair.create();
    const cfg = testConfig(broker.url, {
      ports: [{ id: 'p1', path: pty.hostPath, driver: 'text-kv', maxFrameBytes: 64, channels: { temp: { sensor: 't1', unit: 'C' }, hum: { sensor: 'h1', scale: 0.5 } } }],
    });
    const edge = await startEdge(cfg, { logger: quietLogger() });
    try {
      await waitFor(() => edge.health().ports.p1!.open && edge.health().connected, { what: 'port open and connected' });
      const fd = openSync(pty.devicePath, 'w');
      writeSync(fd, 'temp=21.5,hum=40\r\n' + 'x'.repeat(200) + '\r\n' + 'temp=\u0001\r\ntemp=abc\r\ntemp=22.5\r\n');
      closeSync(fd);
      await waitFor(() => broker.readings().length >= 3, { what: '3 readings' });
      const r = broker.readings();
      expect(r.map((x) => [x.sensor, x.value, x.unit])).toEqual([
        ['t1', 21.5, 'C'],
        ['h1', 20, undefined],
        ['t1', 22.5, 'C'],
      ]);
      expect(edge.health().ports.p1!.bad_frames).toEqual({ over_long: 1, garbage: 1, bad_value: 1 });
      await pty.unplug();
      await waitFor(() => !edge.health().ports.p1!.open, { what: 'port closed after unplug' });
      await pty.replug();
      await waitFor(() => edge.health().ports.p1!.open, { what: 'port reopened after replug', timeoutMs: 15_000 });
      const fd2 = openSync(pty.devicePath, 'w');
      writeSync(fd2, 'temp=23.5\r\n');
      closeSync(fd2);
      await waitFor(() => broker.readings().length >= 4, { what: 'reading after replug' });
      expect(broker.readings()[3]).toMatchObject({ sensor: 't1', value: 23.5 });
    } finally {
      await edge.close();
      await pty.close();
      await broker.close();
    }
  });

  it('a port that stays open but silent is reopened by the watchdog, and reads again afterwards', async () => {
    const broker = await TestBroker.start();
    const pty = await PtyPair.create();
    const cfg = testConfig(broker.url, {
      ports: [{ id: 'p1', path: pty.hostPath, driver: 'text-kv', silenceTimeoutMs: 400, reopen: { minMs: 50, maxMs: 100 }, channels: { temp: { sensor: 't1' } } }],
    });
    const edge = await startEdge(cfg, { logger: quietLogger() });
    try {
      // No close event ever comes: socat keeps the pty open, the board just says nothing.
      await waitFor(() => edge.health().ports.p1!.silent >= 1 && edge.health().ports.p1!.open, { what: 'watchdog reopen', timeoutMs: 10_000 });
      expect(edge.health().ports.p1!.reopens).toBeGreaterThanOrEqual(1);
      const fd = openSync(pty.devicePath, 'w');
      writeSync(fd, 'temp=5\r\n');
      closeSync(fd);
      await waitFor(() => broker.readings().some((r) => r.value === 5), { what: 'reading after the watchdog reopen' });
    } finally {
      await edge.close();
      await pty.close();
      await broker.close();
    }
  });

  it('logs each parsed frame at debug level, and an unmapped channel once at warn', async () => {
    const broker = await TestBroker.start();
    const pty = await PtyPair.create();
    const lines: Array<Record<string, unknown>> = [];
    const logger = pino({ level: 'debug' }, { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) });
    const edge = await startEdge(testConfig(broker.url, { ports: [{ id: 'p1', path: pty.hostPath, driver: 'text-kv', channels: { temp: { sensor: 't1', unit: 'C' } } }] }), { logger });
    try {
      await waitFor(() => edge.health().ports.p1!.open, { what: 'port open' });
      const fd = openSync(pty.devicePath, 'w');
      writeSync(fd, 'temp=21.5,wind=3\r\ntemp=21.6,wind=4\r\n');
      closeSync(fd);
      await waitFor(() => lines.filter((l) => l.msg === 'frame parsed').length >= 2, { what: 'two debug lines' });
      const parsed = lines.find((l) => l.msg === 'frame parsed')!;
      expect(parsed).toMatchObject({ level: 20, port: 'p1', driver: 'text-kv', readings: [{ sensor: 't1', value: 21.5, unit: 'C', ts: expect.any(Number) }], unmapped: [['wind', 3]] });
      const warned = lines.filter((l) => l.level === 40 && l.channel === 'wind');
      expect(warned).toHaveLength(1);
      expect(warned[0]!.msg).toContain('not mapped');
      expect(edge.health().ports.p1!.unmapped_channels).toBe(2);
    } finally {
      await edge.close();
      await pty.close();
      await broker.close();
    }
  });
});
