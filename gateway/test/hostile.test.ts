// Issue 11, defects 3 and 5 at the gateway: one 150 KB envelope created 5,000 InfluxDB series (no
// bound on sensors per device), and an envelope over the packet limit got a bare connection reset.
import { waitFor } from '@fieldline/harness';
import { parseRejectionNotice, readDeadLetter, type RejectionNotice } from '@fieldline/contract';
import type { MqttClient } from 'mqtt';
import { describe, expect, it } from 'vitest';
import { connectDevice, rigFixture, streamMessages, type Rig } from './helpers.js';

const T = 1_700_000_000_000;
let seq = 0;
const envelopeOf = (device: string, sensors: string[], epoch = 'hostile01'): { text: string; batch: string } => {
  const s = ++seq;
  const text = JSON.stringify({ v: 1, device, epoch, seq: s, clock: { synced: true, now: T }, readings: sensors.map((sensor, i) => ({ sensor, ts: T + i, value: i })) });
  return { text, batch: `${device}:${epoch}:${s}` };
};

/** Subscribes to the device's rejected topic and collects the notices. */
async function notices(c: MqttClient, device: string): Promise<RejectionNotice[]> {
  const got: RejectionNotice[] = [];
  c.on('message', (topic, payload) => {
    if (topic === `fl/v1/${device}/commands/rejected`) got.push(parseRejectionNotice(payload));
  });
  await c.subscribeAsync(`fl/v1/${device}/commands/#`, { qos: 1 });
  return got;
}

const metric = async (rig: Rig, re: RegExp): Promise<number> => Number(re.exec(await (await fetch(`http://127.0.0.1:${rig.gateway.httpPort}/metrics`)).text())?.[1] ?? 0);

describe('gateway limits against a hostile device', () => {
  const rig = rigFixture(['many', 'big', 'calm'], { mqtt: { host: '127.0.0.1', port: 0, maximumPacketSize: 65_536 }, limits: { maxSensorsPerDevice: 10 } });

  it('distinct sensors per device are bounded: past the limit the envelope is dead-lettered as sensor_limit and the device told; its known sensors keep working', async () => {
    const c = await connectDevice(rig.mqttUrl, 'many');
    const got = await notices(c, 'many');
    const ok = envelopeOf('many', ['a', 'b', 'c']);
    await c.publishAsync('fl/v1/many/telemetry', ok.text, { qos: 1 });
    // 500 new sensors in one envelope (the attack had 5,000 in 150 KB), then 8 more where 7 would fit.
    const flood = envelopeOf('many', Array.from({ length: 500 }, (_, i) => `s${i}`));
    await c.publishAsync('fl/v1/many/telemetry', flood.text, { qos: 1 });
    const eight = envelopeOf('many', ['a', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k']);
    await c.publishAsync('fl/v1/many/telemetry', eight.text, { qos: 1 });
    const seven = envelopeOf('many', ['a', 'd', 'e', 'f', 'g', 'h', 'i', 'j']);
    await c.publishAsync('fl/v1/many/telemetry', seven.text, { qos: 1 });
    await waitFor(() => got.length === 2, { what: 'two rejection notices' });
    expect(got.map((n) => [n.args.batch, n.args.reason])).toEqual([
      [flood.batch, 'sensor_limit'],
      [eight.batch, 'sensor_limit'],
    ]);
    expect(got[0]!.args.error).toBe('readings: the envelope would give device "many" 503 distinct sensors; at most 10 are allowed (limits.maxSensorsPerDevice). New here: "s0", "s1", "s2" and 497 more');
    // Stored: the two that fit; dead-lettered byte for byte: the two that did not.
    expect(await streamMessages(rig.nc, 'TELEMETRY')).toBe(2);
    const jsm = await rig.nc.jetstreamManager();
    const dl = await jsm.streams.getMessage('DEADLETTER', { last_by_subj: 'fl.deadletter.sensor_limit.many' });
    expect(Buffer.from(dl.data).toString()).toBe(eight.text);
    expect(readDeadLetter((k) => dl.header.get(k))).toMatchObject({ reason: 'sensor_limit', device: 'many' });
    expect(await metric(rig, /fieldline_gateway_rejected_total\{reason="sensor_limit"\} (\d+)/)).toBe(2);
    await c.endAsync();
  });

  it('an envelope over the packet limit: the device is told on its rejected topic (naming the batch) before the connection closes, and it is counted', async () => {
    const c = await connectDevice(rig.mqttUrl, 'big');
    const got = await notices(c, 'big');
    const closed = new Promise<void>((r) => c.once('close', () => r()));
    const big = envelopeOf('big', Array.from({ length: 2000 }, () => 'x'));
    expect(big.text.length).toBeGreaterThan(65_536);
    c.publish('fl/v1/big/telemetry', big.text, { qos: 1 });
    await closed;
    await waitFor(() => got.length === 1, { what: 'the notice' });
    expect(got[0]!.args).toEqual({ batch: big.batch, reason: 'packet_too_large', error: expect.stringMatching(/^packet of \d+ bytes exceeds maximumPacketSize 65536$/) });
    c.end(true);
    expect(await metric(rig, /fieldline_gateway_rejected_total\{reason="packet_too_large"\} (\d+)/)).toBe(1);
    // Another device is not affected.
    const calm = await connectDevice(rig.mqttUrl, 'calm');
    await calm.publishAsync('fl/v1/calm/telemetry', envelopeOf('calm', ['t']).text, { qos: 1 });
    await calm.endAsync();
  });
});
