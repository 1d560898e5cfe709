import { connect as tcpConnect, type Socket } from 'node:net';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDevice, envelope, PASSWORD, rigFixture } from './helpers.js';
import { connectPacket, publishPacket, varint } from './mqtt-packets.js';

const connectBytes = (clientId: string, username = clientId, password = PASSWORD): Buffer => connectPacket(clientId, username, password);
const publishBytes = (topic: string, payload: string, first = 0x32): Buffer => publishPacket(topic, payload, { first });

/**
 * Opens a raw socket, sends `bytes[0]`, the rest once the first reply (CONNACK) arrived, and
 * resolves with what came back once the gateway closed it.
 */
function rawSession(port: number, bytes: Buffer[], timeoutMs = 8000): Promise<{ closed: boolean; received: Buffer }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const [first, ...rest] = bytes;
    const sock: Socket = tcpConnect(port, '127.0.0.1', () => sock.write(first!));
    sock.on('data', (d) => {
      if (chunks.length === 0) for (const b of rest) sock.write(b);
      chunks.push(d);
    });
    sock.on('error', () => undefined);
    const timer = setTimeout(() => {
      sock.destroy();
      resolve({ closed: false, received: Buffer.concat(chunks) });
    }, timeoutMs);
    sock.on('close', () => {
      clearTimeout(timer);
      resolve({ closed: true, received: Buffer.concat(chunks) });
    });
  });
}

describe('malformed MQTT bytes close only the offending connection', () => {
  const rig = rigFixture(['dev-a', 'dev-b'], { mqtt: { host: '127.0.0.1', port: 0, maximumPacketSize: 65_536 } });
  let other: MqttClient;
  beforeAll(async () => {
    other = await connectDevice(rig.mqttUrl, 'dev-b');
  });
  // Before the rig's own teardown (after-hooks run last registered first).
  afterAll(() => void other?.end(true));

  const CONNACK_OK = Buffer.from([0x20, 0x02, 0x00, 0x00]);
  const cases: [string, () => Buffer[], (received: Buffer) => void][] = [
    ['bad remaining length (5 continuation bytes)', () => [connectBytes('dev-a'), Buffer.from([0x32, 0xff, 0xff, 0xff, 0xff, 0x01])], () => undefined],
    ['bad remaining length before CONNECT', () => [Buffer.from([0x10, 0xff, 0xff, 0xff, 0xff, 0x7f])], (r) => expect(r.length).toBe(0)],
    ['zero-length topic', () => [connectBytes('dev-a'), publishBytes('', envelope('dev-a'))], (r) => expect(r.equals(CONNACK_OK)).toBe(true)],
    ['QoS 3', () => [connectBytes('dev-a'), publishBytes('fl/v1/dev-a/telemetry', envelope('dev-a'), 0x36)], (r) => expect(r.equals(CONNACK_OK)).toBe(true)],
    ['topic __proto__', () => [connectBytes('dev-a'), publishBytes('__proto__', envelope('dev-a'))], (r) => expect(r.equals(CONNACK_OK)).toBe(true)],
    // CONNACK return code 2: identifier rejected
    ['client id __proto__', () => [connectBytes('__proto__', 'dev-a')], (r) => expect([...r]).toEqual([0x20, 0x02, 0x00, 0x02])],
    // Announces 10 MB but sends only the header: the gateway must not wait to buffer it.
    ['oversize packet', () => [connectBytes('dev-a'), Buffer.concat([Buffer.from([0x32]), varint(10_000_000), Buffer.alloc(100)])], (r) => expect(r.equals(CONNACK_OK)).toBe(true)],
    ['garbage instead of CONNECT', () => [Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')], (r) => expect(r.length).toBe(0)],
  ];

  for (const [name, bytes, check] of cases) {
    it(`${name}: that connection is closed, another device keeps publishing`, async () => {
      const res = await rawSession(rig.gateway.mqttPort, bytes());
      expect(res.closed).toBe(true);
      check(res.received);
      await other.publishAsync('fl/v1/dev-b/telemetry', envelope('dev-b'), { qos: 1 });
      expect(other.connected).toBe(true);
    });
  }

  it('counts the closed connections', async () => {
    const text = await (await fetch(`http://127.0.0.1:${rig.gateway.httpPort}/metrics`)).text();
    const errors = Number(text.match(/fieldline_gateway_client_errors_total (\d+)/)?.[1]);
    expect(errors).toBeGreaterThanOrEqual(5);
  });
});
