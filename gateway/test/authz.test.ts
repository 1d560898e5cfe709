import { findBinary, sleep, waitFor } from '@fieldline/harness';
import type { MqttClient } from 'mqtt';
import { describe, expect, it } from 'vitest';
import { connectDevice, envelope, nextMessage, PASSWORD, run, rigFixture, streamMessages, type Rig } from './helpers.js';

/** Publishes QoS 1 and reports whether a PUBACK came or the gateway closed the connection. */
async function publishOutcome(c: MqttClient, topic: string, payload: string): Promise<'acked' | 'closed'> {
  const closed = new Promise<'closed'>((r) => c.once('close', () => r('closed')));
  const acked = c.publishAsync(topic, payload, { qos: 1 }).then(() => 'acked' as const, () => 'closed' as const);
  return Promise.race([acked, closed]);
}

async function refusedMetric(rig: Rig, why: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${rig.gateway.httpPort}/metrics`)).text();
  const m = text.match(new RegExp(`fieldline_gateway_refused_total\\{why="${why}"\\} (\\d+)`));
  return m ? Number(m[1]) : 0;
}

describe('authorization matrix', () => {
  const rig = rigFixture(['dev-a', 'dev-b']);

  describe('MQTT.js', () => {
    it('legitimate: own telemetry stored, own commands subscription receives a NATS command', async () => {
      const c = await connectDevice(rig.mqttUrl, 'dev-a');
      expect(await publishOutcome(c, 'fl/v1/dev-a/telemetry', envelope('dev-a'))).toBe('acked');
      const granted = await c.subscribeAsync('fl/v1/dev-a/commands/#', { qos: 1 });
      expect(granted[0]?.qos).toBe(1);
      const got = nextMessage(c);
      const reply = await rig.nc.request('fl.commands.dev-a', JSON.stringify({ v: 1, id: 'c1', name: 'reboot' }));
      expect(JSON.parse(Buffer.from(reply.data).toString())).toEqual({ ok: true, delivered: true });
      const [topic, payload] = await got;
      expect(topic).toBe('fl/v1/dev-a/commands/reboot');
      expect(JSON.parse(payload.toString())).toMatchObject({ id: 'c1', name: 'reboot' });
      await c.endAsync();
    });

    it('wrong password: CONNACK "bad user name or password"', async () => {
      await expect(connectDevice(rig.mqttUrl, 'dev-a', { password: 'wrong-password' })).rejects.toThrow(/Bad username or password/i);
    });

    it('MQTT 5 is not supported: CONNECT refused', async () => {
      await expect(connectDevice(rig.mqttUrl, 'dev-a', { protocolVersion: 5 })).rejects.toThrow(/Unacceptable protocol version/i);
    });

    it("another device's client id: refused", async () => {
      await expect(connectDevice(rig.mqttUrl, 'dev-b', { username: 'dev-a' })).rejects.toThrow(/Bad username or password/i);
    });

    it('a client id that is not a device id (`__proto__`): identifier rejected', async () => {
      await expect(connectDevice(rig.mqttUrl, '__proto__', { username: '__proto__' })).rejects.toThrow(/Identifier rejected/i);
    });

    it("another device's topic, $SYS and a wildcard topic: connection closed, nothing stored", async () => {
      const before = await streamMessages(rig.nc, 'TELEMETRY');
      for (const topic of ['fl/v1/dev-b/telemetry', '$SYS/broker/x', 'fl/v1/dev-a/+', 'fl/v1/dev-a/commands/reboot']) {
        const c = await connectDevice(rig.mqttUrl, 'dev-a');
        expect(await publishOutcome(c, topic, envelope('dev-b')), topic).toBe('closed');
        c.end(true);
      }
      expect(await streamMessages(rig.nc, 'TELEMETRY')).toBe(before);
      expect(await refusedMetric(rig, 'other_device_topic')).toBeGreaterThanOrEqual(1);
      expect(await refusedMetric(rig, 'sys_topic')).toBeGreaterThanOrEqual(1);
    });

    it("a Last Will on another device's topic: CONNACK not authorized", async () => {
      await expect(
        connectDevice(rig.mqttUrl, 'dev-a', { will: { topic: 'fl/v1/dev-b/status', payload: Buffer.from('{}'), qos: 1, retain: true } }),
      ).rejects.toThrow(/Not authorized/i);
    });

    it("subscriptions to another device's commands, to # and to $SYS are denied (SUBACK 0x80)", async () => {
      const c = await connectDevice(rig.mqttUrl, 'dev-a');
      // MQTT.js turns a SUBACK of 0x80 into an error that carries the packet.
      const err = (await c.subscribeAsync(['fl/v1/dev-b/commands/#', '#', '$SYS/#', 'fl/v1/dev-a/telemetry']).catch((e: unknown) => e)) as {
        packet?: { granted: number[] };
      };
      expect(err.packet?.granted).toEqual([128, 128, 128, 128]);
      await c.endAsync();
    });

    it('the own Last Will (status) is recorded in the status KV when the device drops', async () => {
      const will = { v: 1, device: 'dev-a', state: 'offline' };
      const c = await connectDevice(rig.mqttUrl, 'dev-a', { will: { topic: 'fl/v1/dev-a/status', payload: Buffer.from(JSON.stringify(will)), qos: 1, retain: true } });
      await c.publishAsync('fl/v1/dev-a/status', JSON.stringify({ v: 1, device: 'dev-a', state: 'online' }), { qos: 1, retain: true });
      const kv = await rig.nc.jetstream().views.kv('fl_device_status');
      expect((await kv.get('dev-a'))?.json<{ state: string }>().state).toBe('online');
      c.stream.destroy(); // no DISCONNECT: the will fires
      await waitFor(async () => (await kv.get('dev-a'))?.json<{ state: string; source: string }>().source === 'will');
      c.end(true);
    });
  });

  describe("Debian's mosquitto_pub / mosquitto_sub", () => {
    const pub = (...args: string[]) =>
      run(findBinary('mosquitto_pub', 'mosquitto-clients'), ['-h', '127.0.0.1', '-p', String(rig.gateway.mqttPort), '-V', 'mqttv311', '-q', '1', ...args]);
    const asA = ['-i', 'dev-a', '-u', 'dev-a', '-P', PASSWORD];

    it('legitimate publish is stored', async () => {
      const before = await streamMessages(rig.nc, 'TELEMETRY');
      const r = await pub(...asA, '-t', 'fl/v1/dev-a/telemetry', '-m', envelope('dev-a'));
      expect(r.code, r.stderr).toBe(0);
      expect(await streamMessages(rig.nc, 'TELEMETRY')).toBe(before + 1);
    });

    it('wrong password, foreign client id, foreign topic, $SYS and a foreign will are refused', async () => {
      const before = await streamMessages(rig.nc, 'TELEMETRY');
      const wrong = await pub('-i', 'dev-a', '-u', 'dev-a', '-P', 'wrong-password', '-t', 'fl/v1/dev-a/telemetry', '-m', envelope('dev-a'));
      expect(wrong.code).not.toBe(0);
      expect(wrong.stderr).toMatch(/not authori[sz]ed|bad user name or password/i);
      const foreignId = await pub('-i', 'dev-b', '-u', 'dev-a', '-P', PASSWORD, '-t', 'fl/v1/dev-b/telemetry', '-m', envelope('dev-b'));
      expect(foreignId.code).not.toBe(0);
      const foreignTopic = await pub(...asA, '-t', 'fl/v1/dev-b/telemetry', '-m', envelope('dev-b'));
      expect(foreignTopic.code).not.toBe(0);
      const sys = await pub(...asA, '-t', '$SYS/broker/uptime', '-m', 'x');
      expect(sys.code).not.toBe(0);
      const will = await pub(...asA, '--will-topic', 'fl/v1/dev-b/status', '--will-payload', '{}', '-t', 'fl/v1/dev-a/telemetry', '-m', envelope('dev-a'));
      expect(will.code).not.toBe(0);
      expect(will.stderr).toMatch(/not authori[sz]ed/i);
      expect(await streamMessages(rig.nc, 'TELEMETRY')).toBe(before);
    });

    it("mosquitto_sub: another device's commands are denied; its own commands arrive", async () => {
      const sub = findBinary('mosquitto_sub', 'mosquitto-clients');
      const base = ['-h', '127.0.0.1', '-p', String(rig.gateway.mqttPort), '-V', 'mqttv311', ...asA];
      const denied = await run(sub, [...base, '-t', 'fl/v1/dev-b/commands/#', '-C', '1', '-W', '3']);
      expect(denied.stderr + denied.stdout).toMatch(/denied/i);
      expect(denied.stdout).toBe('');
      const own = run(sub, [...base, '-q', '1', '-t', 'fl/v1/dev-a/commands/#', '-C', '1', '-v', '-W', '10']);
      // Wait for the subscription, then send until it lands (mosquitto_sub gives no ready signal).
      let result: Awaited<typeof own> | undefined;
      void own.then((r) => (result = r));
      while (!result) {
        rig.nc.publish('fl.commands.dev-a', JSON.stringify({ v: 1, id: 'm1', name: 'ping' }));
        await sleep(200);
      }
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toMatch(/^fl\/v1\/dev-a\/commands\/ping \{.*"id":"m1"/);
    });
  });
});
