// Typed NATS error checks against a real nats-server: by JetStream err_code, not message text.
import { NatsServer, cleanupAll } from '@fieldline/harness';
import { connect } from 'nats';
import { afterAll, describe, expect, it } from 'vitest';
import { isAlreadyExists, isNotFound, jsApiError, toHeaders } from '../src/nats.js';

afterAll(cleanupAll);

describe('NATS error helpers', () => {
  it('tell not-found and already-exists apart by err_code', async () => {
    const server = await NatsServer.start();
    const nc = await connect({ servers: server.url });
    try {
      const jsm = await nc.jetstreamManager();
      const missingStream = await jsm.streams.info('NOPE').catch((e: unknown) => e);
      expect(isNotFound(missingStream)).toBe(true);
      expect(jsApiError(missingStream)?.err_code).toBe(10059);
      await jsm.streams.add({ name: 'S', subjects: ['s.>'] });
      const missingConsumer = await jsm.consumers.info('S', 'nope').catch((e: unknown) => e);
      expect(isNotFound(missingConsumer)).toBe(true);
      const clash = await jsm.streams.add({ name: 'S', subjects: ['other.>'] }).catch((e: unknown) => e);
      expect(isAlreadyExists(clash)).toBe(true);
      expect(isNotFound(clash)).toBe(false);
      const overlap = await jsm.streams.add({ name: 'T', subjects: ['s.x'] }).catch((e: unknown) => e);
      expect(isAlreadyExists(overlap)).toBe(true);
      const noMsg = await jsm.streams.getMessage('S', { seq: 99 }).catch((e: unknown) => e);
      expect(isNotFound(noMsg)).toBe(true);
      expect(isNotFound(new Error('stream not found'))).toBe(false);
      expect(toHeaders({ 'Fl-Reason': 'bad_json' }).get('Fl-Reason')).toBe('bad_json');
    } finally {
      await nc.close();
      await server.stop();
    }
  });
});
