/**
 * The gateway and a processor start at the same moment on a fresh NATS: the processor may create
 * a stream (with its own minimal config) between the gateway's lookup and its add. Seen once in
 * the fault suite: the gateway exited with "stream name already in use with a different
 * configuration". The interleaving is forced here on a real nats-server.
 */
import { cleanupAll, NatsServer } from '@fieldline/harness';
import { connect, RetentionPolicy, type JetStreamManager, type NatsConnection, type StreamConfig } from 'nats';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ensureStream } from '../src/nats-bridge.js';

let nats: NatsServer;
let nc: NatsConnection;

beforeAll(async () => {
  nats = await NatsServer.start();
  nc = await connect({ servers: nats.url });
});

afterAll(async () => {
  await nc?.close();
  await nats?.stop();
  cleanupAll();
});

it('a stream created by another process between the lookup and the add is updated to the gateway config, not a failed start', async () => {
  const jsm = await nc.jetstreamManager();
  const cfg: Partial<StreamConfig> = { name: 'RACE', subjects: ['race.>'], retention: RetentionPolicy.Limits, max_age: 3_600_000_000_000, max_msgs_per_subject: 10 };
  // The other process's add lands just before ours, with a config of its own.
  const racing: JetStreamManager = Object.create(jsm);
  Object.defineProperty(racing, 'streams', {
    value: Object.assign(Object.create(jsm.streams), {
      add: async (c: Partial<StreamConfig>) => {
        await jsm.streams.add({ name: 'RACE', subjects: ['race.>'] });
        return jsm.streams.add(c);
      },
    }),
  });
  await ensureStream(racing, cfg, pino({ level: 'silent' }));
  const info = await jsm.streams.info('RACE');
  expect(info.config.max_msgs_per_subject).toBe(10);
  expect(info.config.max_age).toBe(3_600_000_000_000);
});
