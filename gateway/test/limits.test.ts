import { describe, expect, it } from 'vitest';
import { revokeDevice } from '../src/index.js';
import { connectDevice, envelope, metricsText, rigFixture, telemetryIds } from './helpers.js';

describe('rate limits, connection limits, revocation, downlink validation', () => {
  const rig = rigFixture(['dev-a', 'dev-b', 'dev-c'], {
    mqtt: { host: '127.0.0.1', port: 0, connectionRatePerS: 0.01, connectionBurst: 4 },
    limits: { messagesPerS: 10, messageBurst: 5 },
  });

  it('a device above its message rate gets its PUBACKs later, but everything is stored', async () => {
    const c = await connectDevice(rig.mqttUrl, 'dev-a');
    const t0 = performance.now();
    await Promise.all(Array.from({ length: 15 }, () => c.publishAsync('fl/v1/dev-a/telemetry', envelope('dev-a'), { qos: 1 })));
    // 5 in the burst, 10 more at 10/s: about a second of delay, never less.
    expect(performance.now() - t0).toBeGreaterThan(800);
    expect((await telemetryIds(rig.nc)).length).toBe(15);
    // 10 beyond the burst; on a loaded machine a token may refill (10/s) while the 15 are read.
    expect(Number((await metricsText(rig)).match(/fieldline_gateway_throttled_total (\d+)/)?.[1])).toBeGreaterThanOrEqual(8);
    await c.endAsync();
  });

  it('revoking a connected device closes its session', async () => {
    const c = await connectDevice(rig.mqttUrl, 'dev-c');
    const closed = new Promise<void>((r) => c.once('close', () => r()));
    await revokeDevice(rig.registryFile, 'dev-c');
    await closed;
    c.end(true);
  });

  it('a reconnect storm beyond the connection rate is refused with "server unavailable"', async () => {
    // Two of the burst of 4 were used above (the rate refills one per 100 s); four at once exceed it.
    const results = await Promise.allSettled(['dev-a', 'dev-b', 'dev-a', 'dev-b'].map((d) => connectDevice(rig.mqttUrl, d)));
    const refused = results.filter((r) => r.status === 'rejected');
    expect(refused.length).toBeGreaterThanOrEqual(2);
    expect(String((refused[0] as PromiseRejectedResult).reason)).toMatch(/Server unavailable/i);
    for (const r of results) if (r.status === 'fulfilled') r.value.end(true);
    expect(await metricsText(rig)).toMatch(/fieldline_gateway_refused_total\{why="connection_rate"\} [1-9]/);
  });

  it('invalid downlink commands are answered with the error and not forwarded', async () => {
    const bad = await rig.nc.request('fl.commands.dev-a', JSON.stringify({ v: 1, id: 'x', name: 'rejected' }));
    expect(JSON.parse(Buffer.from(bad.data).toString())).toMatchObject({ ok: false, error: expect.stringMatching(/reserved/) });
    const badJson = await rig.nc.request('fl.commands.dev-a', 'not json');
    expect(JSON.parse(Buffer.from(badJson.data).toString())).toMatchObject({ ok: false, error: expect.stringMatching(/JSON/) });
    const offline = await rig.nc.request('fl.commands.dev-offline', JSON.stringify({ v: 1, id: 'y', name: 'reboot' }));
    expect(JSON.parse(Buffer.from(offline.data).toString())).toEqual({ ok: true, delivered: false });
  });
});
