import { openSync, writeFileSync } from 'node:fs';
import { ReadStream } from 'node:tty';
import { afterAll, describe, expect, it } from 'vitest';
import { connect } from 'nats';
import { cleanupAll, findBinary, InfluxServer, MissingBinaryError, NatsCluster, NatsServer, PtyPair } from '../src/index.js';

afterAll(cleanupAll);

describe('service harness', () => {
  it('names the Debian package when a binary is missing', () => {
    expect(() => findBinary('fieldline-no-such-binary', 'no-such-pkg')).toThrow(MissingBinaryError);
    expect(() => findBinary('fieldline-no-such-binary', 'no-such-pkg')).toThrow(/apt-get install -y no-such-pkg/);
  });

  it('starts nats-server with JetStream and restarts it on the same port and store', async () => {
    const nats = await NatsServer.start();
    const res = await fetch(`http://127.0.0.1:${nats.monitorPort}/jsz`);
    expect(((await res.json()) as { config?: { store_dir?: string } }).config?.store_dir).toContain(nats.storeDir);
    await nats.stop();
    expect(nats.running).toBe(false);
    await nats.start();
    expect(nats.running).toBe(true);
    await nats.stop();
  });

  it('starts a 3-node JetStream cluster whose R3 stream survives a node killed and restarted', async () => {
    const cluster = await NatsCluster.start();
    expect(cluster.urls).toHaveLength(3);
    const nc = await connect({ servers: cluster.urls, maxReconnectAttempts: -1, reconnectTimeWait: 200 });
    const jsm = await nc.jetstreamManager();
    const js = nc.jetstream();
    await jsm.streams.add({ name: 'R3', subjects: ['r3.>'], num_replicas: 3 });
    expect((await jsm.streams.info('R3')).cluster?.replicas).toHaveLength(2);
    await js.publish('r3.a', 'one');
    await cluster.kill(0);
    // Two of three nodes still elect leaders and store.
    for (let i = 0; ; i++) {
      const ok = await js.publish('r3.a', 'two', { msgID: 'two', timeout: 2000 }).then(() => true, () => false);
      if (ok) break;
      expect(i).toBeLessThan(100);
      await new Promise((r) => setTimeout(r, 200));
    }
    await cluster.restart(0);
    expect((await jsm.streams.info('R3')).state.messages).toBe(2);
    await nc.close();
    await cluster.stop();
  });

  it('starts influxd and answers InfluxQL over HTTP', async () => {
    const influx = await InfluxServer.start();
    await influx.createDatabase('t');
    const w = await fetch(`${influx.url}/write?db=t&precision=ms`, { method: 'POST', body: 'm,tag=a value=1 1000' });
    expect(w.status).toBe(204);
    const series = await influx.query('SELECT value FROM m', 't');
    expect(series[0]?.values).toEqual([[1000, 1]]);
    await influx.stop();
  });

  it('joins two real ptys and survives unplug/replug under the same paths', async () => {
    const pty = await PtyPair.create();
    const roundTrip = async (text: string): Promise<string> => {
      const fd = openSync(pty.hostPath, 'r+');
      const reader = new ReadStream(fd);
      const got = new Promise<string>((resolve) => reader.once('data', (b) => resolve(b.toString())));
      writeFileSync(pty.devicePath, text);
      const data = await got;
      reader.destroy();
      return data;
    };
    expect(await roundTrip('hello\r\n')).toBe('hello\r\n');
    await pty.unplug();
    expect(pty.connected).toBe(false);
    await pty.replug();
    expect(await roundTrip('again')).toBe('again');
    await pty.close();
  });
});
