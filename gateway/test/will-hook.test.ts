import { join } from 'node:path';
import { cleanupAll, tempDir } from '@fieldline/harness';
import type { PublishPacket } from 'aedes';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { createBroker } from '../src/broker.js';
import type { DeviceStatusWriter } from '../src/device-status.js';
import { loadGatewayConfig } from '../src/config.js';
import { GatewayMetrics } from '../src/metrics.js';
import { DeviceRegistry } from '../src/registry.js';
import type { Uplink } from '../src/uplink.js';

afterAll(() => cleanupAll());

// aedes restores the wills of a dead broker instance with no client: the hook must authorize them
// by the will's own client id, exactly like a will published at disconnect.
describe('restored Last Wills (no client) go through the same authorization', () => {
  it('refuses a restored will on another device topic and records an own one as a will', async () => {
    const registryFile = join(tempDir('gwwill'), 'devices.json');
    const cfg = loadGatewayConfig({ auth: { registryFile } });
    const recorded: [string, string][] = [];
    const uplink = { status: async (device: string, _p: Buffer, source: string) => (recorded.push([device, source]), true) } as unknown as Uplink;
    const statuses = { connect: async () => 1 } as unknown as DeviceStatusWriter;
    const { broker } = await createBroker({ cfg, registry: new DeviceRegistry(registryFile), metrics: new GatewayMetrics(), log: pino({ level: 'silent' }), uplink: () => uplink, statuses: () => statuses, gatewayId: 'gw-test' });
    const will = (topic: string): PublishPacket & { clientId: string } => ({
      cmd: 'publish', topic, payload: Buffer.from('{"v":1,"device":"dev-a","state":"offline"}'), qos: 1, retain: true, dup: false, clientId: 'dev-a',
    });
    const authorize = (p: PublishPacket) => new Promise<Error | null | undefined>((r) => broker.authorizePublish(null, p, r));
    expect(await authorize(will('fl/v1/dev-b/status'))).toBeInstanceOf(Error);
    expect(await authorize(will('fl/v1/dev-a/telemetry'))).toBeInstanceOf(Error);
    expect(await authorize(will('$SYS/x'))).toBeInstanceOf(Error);
    expect(await authorize(will('fl/v1/dev-a/status'))).toBeNull();
    expect(recorded).toEqual([['dev-a', 'will']]);
    await new Promise<void>((r) => broker.close(() => r()));
  });
});
