import { DEADLETTER_HEADERS, type RejectionNotice } from '@fieldline/contract';
import { describe, expect, it } from 'vitest';
import { connectDevice, envelope, nextMessage, rigFixture, streamMessages } from './helpers.js';

describe('dead letters', () => {
  const rig = rigFixture(['dev-a']);

  const cases: { name: string; payload: Buffer; reason: string; batch: string | null }[] = [
    { name: 'bytes that are not JSON', payload: Buffer.from([0xff, 0x00, 0x7b, 0x0a, 0x0d]), reason: 'bad_json', batch: null },
    { name: 'an envelope naming another device', payload: Buffer.from(envelope('dev-b', 1, 'epochbbbb', 4)), reason: 'device_mismatch', batch: 'dev-a:epochbbbb:4' },
    {
      name: 'a reading with a bad timestamp',
      payload: Buffer.from(JSON.stringify({ v: 1, device: 'dev-a', epoch: 'epochcccc', seq: 2, clock: { synced: true, now: 1 }, readings: [{ sensor: 't1', ts: -5, value: 1 }] })),
      reason: 'bad_reading',
      batch: 'dev-a:epochcccc:2',
    },
  ];

  for (const tc of cases) {
    it(`${tc.name}: stored in DEADLETTER byte for byte with the reason, PUBACKed, device notified, counted`, async () => {
      const c = await connectDevice(rig.mqttUrl, 'dev-a');
      await c.subscribeAsync('fl/v1/dev-a/commands/#', { qos: 1 });
      const notice = nextMessage(c);
      const telemetryBefore = await streamMessages(rig.nc, 'TELEMETRY');
      await c.publishAsync('fl/v1/dev-a/telemetry', tc.payload, { qos: 1 }); // resolves on PUBACK
      const [topic, body] = await notice;
      expect(topic).toBe('fl/v1/dev-a/commands/rejected');
      const n = JSON.parse(body.toString()) as RejectionNotice;
      expect(n).toMatchObject({ v: 1, name: 'rejected', args: { reason: tc.reason, batch: tc.batch } });
      expect(n.args.error.length).toBeGreaterThan(5);

      const jsm = await rig.nc.jetstreamManager();
      const dl = await jsm.streams.getMessage('DEADLETTER', { last_by_subj: `fl.deadletter.${tc.reason}.dev-a` });
      expect(Buffer.from(dl.data).equals(tc.payload)).toBe(true);
      expect(dl.header.get(DEADLETTER_HEADERS.reason)).toBe(tc.reason);
      expect(dl.header.get(DEADLETTER_HEADERS.device)).toBe('dev-a');
      expect(dl.header.get(DEADLETTER_HEADERS.error)).toBe(n.args.error);
      expect(await streamMessages(rig.nc, 'TELEMETRY')).toBe(telemetryBefore);

      const metrics = await (await fetch(`http://127.0.0.1:${rig.gateway.httpPort}/metrics`)).text();
      expect(metrics).toContain(`fieldline_gateway_rejected_total{reason="${tc.reason}"} 1`);
      expect(metrics).toContain(`fieldline_gateway_deadlettered_total{reason="${tc.reason}"} 1`);
      await c.endAsync();
    });
  }

  it('a device that sent a bad batch keeps working', async () => {
    const c = await connectDevice(rig.mqttUrl, 'dev-a');
    await c.publishAsync('fl/v1/dev-a/telemetry', '{"v":2}', { qos: 1 });
    await c.publishAsync('fl/v1/dev-a/telemetry', envelope('dev-a', 2), { qos: 1 });
    expect(await streamMessages(rig.nc, 'TELEMETRY')).toBe(1);
    await c.endAsync();
  });
});
