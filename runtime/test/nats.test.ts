// Typed NATS error checks against a real nats-server: by JetStream err_code, not message text.
import { readFileSync } from 'node:fs';
import { NatsServer, cleanupAll, waitFor } from '@fieldline/harness';
import { connect } from 'nats';
import { afterAll, describe, expect, it } from 'vitest';
import { drainOrClose, isAlreadyExists, isNotFound, jsApiError, toHeaders } from '../src/nats.js';

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

describe('drainOrClose', () => {
  it('drains a connection whose server answers, and closes one whose server stopped answering within the bound', async () => {
    const server = await NatsServer.start();
    try {
      const nc = await connect({ servers: server.url });
      const got: string[] = [];
      nc.subscribe('d.>', { callback: (_e, m) => got.push(m.subject) });
      nc.publish('d.1');
      expect(await drainOrClose(nc, { ms: 5_000 })).toBe(true);
      expect(got).toEqual(['d.1']);
      expect(nc.isClosed()).toBe(true);

      // A frozen server keeps the socket open and never returns the drain's PONG: nats.drain() alone waits for ever.
      const frozen = await connect({ servers: server.url, maxReconnectAttempts: -1 });
      frozen.subscribe('d.>', { callback: () => undefined });
      await frozen.flush();
      process.kill(server.pid!, 'SIGSTOP');
      try {
        // Stopped ('T' in /proc/<pid>/stat) before the drain, or the server may still answer it.
        await waitFor(() => /^\d+ \(.*\) T /.test(readFileSync(`/proc/${server.pid}/stat`, 'utf8')), { what: 'nats-server stopped' });
        const t0 = Date.now();
        expect(await drainOrClose(frozen, { ms: 300 })).toBe(false);
        expect(Date.now() - t0).toBeLessThan(5_000);
        expect(frozen.isClosed()).toBe(true);
      } finally {
        process.kill(server.pid!, 'SIGCONT');
      }
    } finally {
      await server.stop();
    }
  });
});
