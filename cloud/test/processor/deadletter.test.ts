import { DEADLETTER_HEADERS, partitionOf, readDeadLetter, STREAMS, subjects } from '@fieldline/contract';
import { waitFor } from '@fieldline/harness';
import { AckPolicy, DeliverPolicy, type JsMsg } from 'nats';
import { describe, expect, it } from 'vitest';
import { PARTITIONS, envelope, processorFixture, publish, queryRows, type Services } from './helpers.js';

async function deadLetters(s: Services, want: number): Promise<JsMsg[]> {
  const jsm = await s.nc.jetstreamManager();
  await waitFor(async () => (await jsm.streams.info(STREAMS.DEADLETTER.name)).state.messages >= want, { timeoutMs: 20_000, what: `${want} dead letters` });
  const name = `dl-${Math.floor(performance.now())}`;
  await jsm.consumers.add(STREAMS.DEADLETTER.name, { name, ack_policy: AckPolicy.None, deliver_policy: DeliverPolicy.All });
  const c = await s.js.consumers.get(STREAMS.DEADLETTER.name, name);
  const out: JsMsg[] = [];
  for await (const m of await c.fetch({ max_messages: want, expires: 2000 })) out.push(m);
  return out;
}

describe('processor: bad input and refused points go to DEADLETTER without blocking the rest', () => {
  const rig = processorFixture();

  it('quarantines a point InfluxDB refuses (field type conflict) with the reason; the batch’s other points land', async () => {
    // In 2001's shard `value` is already a string, so a float `value` there is a type conflict.
    const old = Date.UTC(2001, 0, 1);
    const res = await fetch(`${rig.services.influx.url}/write?db=fieldline&precision=ms`, { method: 'POST', body: `readings,device=other,sensor=x value="text" ${old}` });
    expect(res.status).toBe(204);
    const now = Date.UTC(2026, 0, 5);
    await publish(rig.services.js, envelope('dev-dl', [{ sensor: 's', ts: old + 1, value: 1 }, { sensor: 's', ts: now, value: 2 }, { sensor: 's', ts: now + 1000, value: 3 }]));
    const [dl] = await deadLetters(rig.services, 1);
    expect(dl!.subject).toBe('fl.deadletter.influx_rejected.dev-dl');
    expect(dl!.headers?.get(DEADLETTER_HEADERS.reason)).toBe('influx_rejected');
    expect(dl!.headers?.get(DEADLETTER_HEADERS.error)).toMatch(/field type conflict/);
    expect(dl!.string()).toMatch(/^readings,device=dev-dl,sensor=s value=1,score=0 978307200001000000$/);
    const rows = await waitFor(async () => {
      const r = await queryRows(rig.services.influx, `SELECT value FROM readings WHERE device='dev-dl'`);
      return r.length === 2 ? r : null;
    }, { what: 'the two good readings' });
    expect(rows.map((r) => r.value)).toEqual([2, 3]);
  });

  it('dead-letters an invalid TELEMETRY message with its reason and keeps processing the partition', async () => {
    const device = 'dev-bad';
    const subject = subjects.telemetry(partitionOf(device, PARTITIONS), device);
    await rig.services.js.publish(subject, '{"v":1,"device":"dev-bad", oops');
    await publish(rig.services.js, envelope(device, [{ sensor: 's', ts: Date.UTC(2026, 0, 5), value: 7 }]));
    const dls = await deadLetters(rig.services, 2);
    const bad = dls.find((m) => m.subject === `fl.deadletter.bad_json.${device}`);
    expect(bad?.string()).toBe('{"v":1,"device":"dev-bad", oops');
    expect(bad?.headers?.get(DEADLETTER_HEADERS.error)).toMatch(/payload: is not valid JSON/);
    await waitFor(async () => (await queryRows(rig.services.influx, `SELECT value FROM readings WHERE device='${device}'`)).length === 1, { what: 'the good envelope' });
    const metrics = await (await fetch(`http://127.0.0.1:${rig.processor.httpPort}/metrics`)).text();
    expect(metrics).toMatch(/fieldline_processor_bad_messages_total\{reason="bad_json"\} 1/);
    expect(metrics).toMatch(/fieldline_processor_sink_quarantined_total 1/);
    expect(metrics).toMatch(/fieldline_processor_readings_total\{partition="\d"\} \d/);
  });

  it('files a message seen twice (a redelivery) as one dead letter: same bytes, same msgID', async () => {
    const device = 'dev-twice';
    const subject = subjects.telemetry(partitionOf(device, PARTITIONS), device);
    const jsm = await rig.services.nc.jetstreamManager();
    const before = (await jsm.streams.info(STREAMS.DEADLETTER.name)).state.messages;
    // Two stream messages with the same bytes: what the processor sees when JetStream redelivers.
    await rig.services.js.publish(subject, '{"v":2}');
    await rig.services.js.publish(subject, '{"v":2}');
    await publish(rig.services.js, envelope(device, [{ sensor: 's', ts: Date.UTC(2026, 0, 6), value: 1 }]));
    await waitFor(async () => (await queryRows(rig.services.influx, `SELECT value FROM readings WHERE device='${device}'`)).length === 1, { what: 'the envelope after them' });
    await waitFor(async () => (await jsm.streams.info(STREAMS.DEADLETTER.name)).state.messages > before, { what: 'the dead letter' });
    const all = await deadLetters(rig.services, before + 1);
    const mine = all.filter((m) => m.subject === `fl.deadletter.bad_schema.${device}`);
    expect(mine).toHaveLength(1);
    expect(readDeadLetter((k) => mine[0]!.headers?.get(k))).toMatchObject({ reason: 'bad_schema', device, source: expect.stringMatching(/^processor\/partition-\d$/) });
    expect((await jsm.streams.info(STREAMS.DEADLETTER.name)).state.messages).toBe(before + 1);
  });
});
