import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodePoint, type Point } from '../../src/influx/line-protocol.js';
import { BatchingSink } from '../../src/influx/batching.js';
import { InfluxWriteError } from '../../src/influx/errors.js';
import type { LineWriter } from '../../src/influx/writer.js';

export interface StoredPoint {
  tags: Record<string, string>;
  fields: Record<string, unknown>;
  /** Event time in µs, as text. */
  tsUs: string;
}

export interface SinkUnderTest {
  writer: LineWriter;
  /** Reads a measurement back through the server's own API. */
  read(measurement: string): Promise<StoredPoint[]>;
  close(): Promise<void>;
}

const T0 = Date.UTC(2026, 0, 5, 12);

const expected = (p: Point): StoredPoint => ({
  tags: { ...p.tags },
  fields: Object.fromEntries(Object.entries(p.fields).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v])),
  tsUs: String(Math.round(p.ts * 1000)),
});

const byTime = (a: StoredPoint, b: StoredPoint) => (BigInt(a.tsUs) < BigInt(b.tsUs) ? -1 : 1);

/** Every sink plugin runs this suite against a server that speaks its API. */
export function sinkConformance(name: string, open: () => Promise<SinkUnderTest>): void {
  describe(`sink conformance: ${name}`, () => {
    let sut: SinkUnderTest;
    beforeAll(async () => {
      sut = await open();
    });
    afterAll(async () => {
      await sut?.close();
    });

    it('round-trips escaped tag values, string fields (UTF-8 too), all field types and µs event times', async () => {
      const points: Point[] = [
        { measurement: 'conf_rt', tags: { device: 'd 1,x=y"q', sensor: 'C:\\temp' }, fields: { value: 1.25, n: 3n, ok: true, msg: 'he said "hi", c:\\ ok = yes' }, ts: T0 + 0.123 },
        { measurement: 'conf_rt', tags: { device: 'plain', sensor: 's' }, fields: { value: -0.5, n: -7n, ok: false, msg: '' }, ts: T0 + 1 },
        { measurement: 'conf_rt', tags: { device: 'plain', sensor: 'ü' }, fields: { value: 2, n: 0n, ok: true, msg: '°C, µs, 温度' }, ts: T0 + 2 },
      ];
      await sut.writer.write(points.map(encodePoint));
      expect((await sut.read('conf_rt')).sort(byTime)).toEqual(points.map(expected));
    });

    it('rewriting the same points (a redelivery) changes nothing', async () => {
      const lines = Array.from({ length: 100 }, (_, i) => encodePoint({ measurement: 'conf_idem', tags: { device: 'd', sensor: `s${i % 3}` }, fields: { value: i }, ts: T0 + i }));
      await sut.writer.write(lines);
      const first = (await sut.read('conf_idem')).sort(byTime);
      await sut.writer.write(lines);
      expect((await sut.read('conf_idem')).sort(byTime)).toEqual(first);
      expect(first).toHaveLength(100);
    });

    it('refuses a field type conflict as a rejected write (400), not as unavailable', async () => {
      await sut.writer.write([encodePoint({ measurement: 'conf_type', tags: {}, fields: { f: 1 }, ts: T0 })]);
      const err = await sut.writer.write([encodePoint({ measurement: 'conf_type', tags: {}, fields: { f: 'text' }, ts: T0 + 1 })]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InfluxWriteError);
      expect((err as InfluxWriteError).failure).toBe('rejected');
      expect((err as InfluxWriteError).status).toBe(400);
      expect((err as InfluxWriteError).message).toMatch(/type/);
    });

    it('batching sink quarantines exactly the bad points (type conflict, time out of range) and writes the rest', async () => {
      await sut.writer.write([encodePoint({ measurement: 'conf_part', tags: { sensor: 'x' }, fields: { v: 0.5 }, ts: T0 })]);
      const lines = Array.from({ length: 40 }, (_, i) => encodePoint({ measurement: 'conf_part', tags: { sensor: 'x' }, fields: { v: i }, ts: T0 + 1 + i }));
      const conflict = encodePoint({ measurement: 'conf_part', tags: { sensor: 'x' }, fields: { v: 'oops' }, ts: T0 + 100 });
      const outOfRange = encodePoint({ measurement: 'conf_part', tags: { sensor: 'x' }, fields: { v: 1 }, ts: 1e14 });
      lines.splice(17, 0, conflict);
      lines.splice(30, 0, outOfRange);
      const quarantined: [string, string][] = [];
      const sink = new BatchingSink(sut.writer, {
        batchLines: 16,
        quarantine: async (line, e) => void quarantined.push([line, e.message]),
      });
      await sink.write(lines);
      expect(quarantined.map(([l]) => l).sort()).toEqual([conflict, outOfRange].sort());
      expect(quarantined.find(([l]) => l === conflict)![1]).toMatch(/type/);
      const stored = await sut.read('conf_part');
      expect(stored).toHaveLength(41);
      expect(stored.every((p) => typeof p.fields.v === 'number')).toBe(true);
    });
  });
}
