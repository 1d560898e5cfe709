// TELEMETRY bundles (contract bundle.ts): the gateway stores a device's envelopes of one turn as
// one message. The processor reads each envelope of a bundle as if it had come alone; a bundle
// re-sent cut differently (after a gateway crash) repeats envelopes, which it drops by batch id;
// an invalid envelope in a bundle is dead-lettered alone.
import { bundleId, DEADLETTER_HEADERS, encodeBundle, encodeEnvelope, partitionOf, STREAMS, subjects, type Envelope } from '@fieldline/contract';
import { waitFor } from '@fieldline/harness';
import { describe, expect, it } from 'vitest';
import { PARTITIONS, envelope, processorFixture, queryRows, type Services } from './helpers.js';

const T0 = Date.UTC(2026, 0, 7);

/** Stores envelopes as one bundle, as the gateway does. */
async function publishBundle(s: Services, parts: (Envelope | string)[]): Promise<void> {
  const envs = parts.filter((p): p is Envelope => typeof p !== 'string');
  const device = envs[0]!.device;
  const payload = encodeBundle(parts.map((p) => Buffer.from(typeof p === 'string' ? p : encodeEnvelope(p))));
  await s.js.publish(subjects.telemetry(partitionOf(device, PARTITIONS), device), payload, { msgID: bundleId(envs[0]!, envs[envs.length - 1]!) });
}

describe('processor: TELEMETRY bundles', () => {
  const rig = processorFixture();

  it('every envelope of a bundle lands; a bundle re-sent cut differently lands nothing twice', async () => {
    const device = 'dev-bundle';
    const envs = Array.from({ length: 6 }, (_, i) => envelope(device, [{ sensor: 's', ts: T0 + i * 1000, value: i + 0.25 }, { sensor: 't', ts: T0 + i * 1000, value: 100 - i }]));
    await publishBundle(rig.services, envs.slice(0, 4));
    // The gateway crashed before its PUBACKs: the device re-sent 3..6, the next gateway cut them 3..4, 5..6.
    await publishBundle(rig.services, envs.slice(2, 4));
    await publishBundle(rig.services, envs.slice(4, 6));
    const rows = await waitFor(async () => {
      const r = await queryRows(rig.services.influx, `SELECT value FROM readings WHERE device='${device}' AND sensor='s'`);
      return r.length === 6 ? r : null;
    }, { what: 'six readings of sensor s' });
    expect(rows.map((r) => r.value)).toEqual([0.25, 1.25, 2.25, 3.25, 4.25, 5.25]);
    expect(await queryRows(rig.services.influx, `SELECT count(value) FROM readings WHERE device='${device}'`)).toMatchObject([{ count: 12 }]);
    const metrics = await (await fetch(`http://127.0.0.1:${rig.processor.httpPort}/metrics`)).text();
    // Two repeated envelopes (3 and 4), dropped by batch id.
    expect(metrics).toMatch(/fieldline_processor_duplicate_batches_total\{partition="\d"\} 2/);
  });

  it('a bundle that takes many turns of the event loop to process lands whole, once', async () => {
    // 400 envelopes of 20 readings: tens of ms of processing, which the worker spreads over turns
    // (loop-slice.ts); meanwhile the fixture's 100 ms flush timer must not cut the message in two.
    const device = 'dev-bundle-big';
    const envs = Array.from({ length: 400 }, (_, i) => envelope(device, Array.from({ length: 20 }, (_, s) => ({ sensor: `s${s}`, ts: T0 + i * 1000, value: s + i / 1000 }))));
    await publishBundle(rig.services, envs);
    // A lone envelope behind it: stored after the bundle, so it lands after it.
    await publishBundle(rig.services, [envelope(device, [{ sensor: 'tail', ts: T0, value: 1 }]), envelope(device, [{ sensor: 'tail', ts: T0 + 1000, value: 2 }])]);
    await waitFor(async () => (await queryRows(rig.services.influx, `SELECT count(value) FROM readings WHERE device='${device}' AND sensor='tail'`))[0]?.count === 2, { what: 'the bundle behind the big one' });
    expect(await queryRows(rig.services.influx, `SELECT count(value) FROM readings WHERE device='${device}'`)).toMatchObject([{ count: 400 * 20 + 2 }]);
    const metrics = await (await fetch(`http://127.0.0.1:${rig.processor.httpPort}/metrics`)).text();
    expect(metrics).not.toMatch(/fieldline_processor_bad_messages_total\{[^}]*\} [1-9]/);
  });

  it('an invalid envelope in a bundle is dead-lettered alone; the others land', async () => {
    const device = 'dev-bundle-bad';
    const a = envelope(device, [{ sensor: 's', ts: T0, value: 1 }]);
    const b = envelope(device, [{ sensor: 's', ts: T0 + 1000, value: 2 }]);
    await publishBundle(rig.services, [a, '{"v":1,"device":"dev-bundle-bad"}', b]);
    await waitFor(async () => (await queryRows(rig.services.influx, `SELECT value FROM readings WHERE device='${device}'`)).length === 2, { what: 'the two good envelopes' });
    const jsm = await rig.services.nc.jetstreamManager();
    const dl = await waitFor(async () => jsm.streams.getMessage(STREAMS.DEADLETTER.name, { last_by_subj: `fl.deadletter.bad_schema.${device}` }).catch(() => null), { what: 'the dead letter' });
    expect(JSON.parse(Buffer.from(dl.data).toString())).toEqual({ v: 1, device });
    expect(dl.header.get(DEADLETTER_HEADERS.error)).toBe('[1].epoch: is required');
  });
});
