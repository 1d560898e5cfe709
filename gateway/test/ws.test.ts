import { beforeAll, describe, expect, it } from 'vitest';
import { connectDevice, envelope, rigFixture, streamMessages } from './helpers.js';

describe('MQTT over WebSocket (optional listener)', () => {
  const rig = rigFixture(['dev-w'], { mqtt: { host: '127.0.0.1', port: 0, ws: { host: '127.0.0.1', port: 0 } } });
  let url: string;
  beforeAll(() => {
    url = `ws://127.0.0.1:${rig.gateway.wsPort}/mqtt`;
  });

  it('authenticates, bridges with PUBACK after store, and enforces the same topic rules', async () => {
    await expect(connectDevice(url, 'dev-w', { password: 'wrong-password' })).rejects.toThrow(/Bad username or password/i);
    const c = await connectDevice(url, 'dev-w');
    await c.publishAsync('fl/v1/dev-w/telemetry', envelope('dev-w'), { qos: 1 });
    expect(await streamMessages(rig.nc, 'TELEMETRY')).toBe(1);
    const closed = new Promise<void>((r) => c.once('close', () => r()));
    c.publish('fl/v1/other/telemetry', envelope('other'), { qos: 1 });
    await closed;
    c.end(true);
    expect(await streamMessages(rig.nc, 'TELEMETRY')).toBe(1);
  });

  it('answers plain HTTP with 426', async () => {
    expect((await fetch(`http://127.0.0.1:${rig.gateway.wsPort}/`)).status).toBe(426);
  });
});
