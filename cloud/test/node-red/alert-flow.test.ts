import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type JetStreamManager, type NatsConnection } from 'nats';
import { alertId, STREAMS, subjects, type AlertEvent } from '@fieldline/contract';
import { NatsServer, cleanupAll, waitFor } from '@fieldline/harness';
import { startNodeRed, type NodeRedOptions, type NodeRedProcess } from '../../node-red/launch.mjs';
import { MailReceiver } from './mail-receiver.js';
import { WebhookReceiver } from './webhook-receiver.js';

// The example flow from deploy/node-red/flows.json, unmodified, on real NATS and real Node-RED.
const DURABLE = 'node-red-alerts';
const PASSWORD = 'correct horse battery staple';

let nats: NatsServer;
let nc: NatsConnection;
let jsm: JetStreamManager;
let webhook: WebhookReceiver;
let mail: MailReceiver;
let nodeRed: NodeRedProcess;
let startSeq = 1_700_000_000_000;

function alert(over: Partial<AlertEvent> & { device: string }): AlertEvent {
  const start = over.start ?? (startSeq += 1000);
  const base = { v: 1 as const, state: 'firing' as const, severity: 'critical' as const, sensor: 'temp', rule: 'zscore', ts: start, value: 99.5, score: 6.2, message: 'temp 99.5 is 6.2 sigma above its session mean', ...over, start };
  return { ...base, id: alertId(base) };
}

async function publish(a: AlertEvent, msgID?: string): Promise<number> {
  const ack = await nc.jetstream().publish(subjects.alerts(a.severity, a.device), JSON.stringify(a), msgID ? { msgID } : {});
  return ack.seq;
}

/** Waits until Node-RED has settled (acked or terminated) every message up to the last one. */
async function allAcked(): Promise<void> {
  await waitFor(
    async () => {
      const [ci, si] = await Promise.all([jsm.consumers.info(STREAMS.ALERTS.name, DURABLE), jsm.streams.info(STREAMS.ALERTS.name)]);
      return ci.num_ack_pending === 0 && ci.num_pending === 0 && ci.ack_floor.stream_seq >= si.state.last_seq;
    },
    { timeoutMs: 30_000, intervalMs: 200, what: 'Node-RED to ack every alert' },
  );
}

beforeAll(async () => {
  nats = await NatsServer.start();
  nc = await connect({ servers: nats.url });
  jsm = await nc.jetstreamManager();
  // The processor owns the stream; created here idempotently, as the processor does.
  await jsm.streams.add({ name: STREAMS.ALERTS.name, subjects: [...STREAMS.ALERTS.subjects] }).catch(async (err) => {
    await jsm.streams.info(STREAMS.ALERTS.name).catch(() => Promise.reject(err));
  });
  [webhook, mail] = await Promise.all([WebhookReceiver.start(), MailReceiver.start()]);
  nodeRed = await startNodeRed(nodeRedOptions());
  await waitFor(() => jsm.consumers.info(STREAMS.ALERTS.name, DURABLE).then(() => true), {
    timeoutMs: 30_000,
    what: `the durable consumer ${DURABLE}`,
  });
}, 120_000);

function nodeRedOptions(): NodeRedOptions {
  return {
    adminPassword: PASSWORD,
    credentialSecret: 'test-credential-secret',
    credentials: { 'fl-config': { apiToken: 'unused-in-this-flow' } },
    env: {
      FL_NATS_URL: nats.url,
      FL_API_URL: 'http://127.0.0.1:9',
      FL_ALERT_WEBHOOK_URL: `${webhook.url}/alerts`,
      FL_DIGEST_WEBHOOK_URL: `${webhook.url}/digest`,
      FL_SMTP_HOST: '127.0.0.1',
      FL_SMTP_PORT: String(mail.port),
      FL_ALERT_EMAIL_TO: 'ops@example.test',
      FL_ALERT_EMAIL_FROM: 'fieldline@example.test',
    },
  };
}

afterAll(async () => {
  await nodeRed?.close();
  await nc?.close();
  await webhook?.close();
  await mail?.close();
  await nats?.stop();
  cleanupAll();
});

describe('example alert flow', () => {
  const mailsFor = (id: string) => mail.mails.filter((m) => m.raw.includes(`alert id: ${id}`));

  it('posts a critical alert to the webhook as the AlertEvent JSON and e-mails it, then acks it', async () => {
    const a = alert({ device: 'pump-1' });
    await publish(a, `${a.id}:${a.state}`);
    await waitFor(() => webhook.callsFor(a.id).length > 0, { timeoutMs: 20_000, what: 'the webhook call' });
    const [call] = webhook.callsFor(a.id);
    expect(call!.path).toBe('/alerts');
    expect(call!.body).toEqual(a);
    expect(call!.headers['x-fieldline-alert-id']).toBe(a.id);
    await allAcked();
    const [m] = mailsFor(a.id);
    expect(m).toMatchObject({ from: 'fieldline@example.test', to: ['ops@example.test'] });
    expect(m!.raw).toContain('Subject: [fieldline critical] firing: pump-1/temp zscore');
  });

  it('a refused e-mail naks the alert; the redelivery sends it (webhook again: at least once)', async () => {
    mail.failNext = 1;
    const a = alert({ device: 'pump-6' });
    await publish(a);
    await waitFor(() => mailsFor(a.id).length > 0, { timeoutMs: 30_000, what: 'the e-mail after redelivery' });
    await allAcked();
    expect(mailsFor(a.id)).toHaveLength(1);
    expect(webhook.callsFor(a.id)).toHaveLength(2);
  });

  it('the same alert delivered twice reaches the webhook once', async () => {
    const a = alert({ device: 'pump-2', severity: 'warning' });
    const mailsBefore = mail.mails.length;
    // Distinct msg ids: a replay after JetStream's 2-minute dedup window reaches the stream again.
    await publish(a, 'first');
    await publish(a, 'replayed');
    const resolved = { ...a, state: 'resolved' as const, end: a.start + 5000, ts: a.start + 5000 };
    await publish(resolved);
    await publish(resolved);
    await allAcked();
    expect(webhook.callsFor(a.id).map((c) => (c.body as AlertEvent).state)).toEqual(['firing', 'resolved']);
    // Warnings go to the webhook only.
    expect(mail.mails.length).toBe(mailsBefore);
  });

  it('a failed webhook call is nak-ed and the alert is redelivered until it succeeds', async () => {
    webhook.failNext = 1;
    const a = alert({ device: 'pump-3' });
    await publish(a);
    await waitFor(() => webhook.callsFor(a.id).length >= 2, { timeoutMs: 30_000, what: 'the redelivered webhook call' });
    await allAcked();
    expect(webhook.callsFor(a.id)).toHaveLength(2);
    expect(nodeRed.log).toContain('will be redelivered');
  });

  it('terminates a message that is not an AlertEvent, names what is wrong, and keeps going', async () => {
    await nc.jetstream().publish(subjects.alerts('critical', 'pump-4'), '{"v":1,"id":"x"');
    const wrongSubject = alert({ device: 'pump-4', severity: 'info' });
    await nc.jetstream().publish(subjects.alerts('critical', 'pump-4'), JSON.stringify(wrongSubject));
    const good = alert({ device: 'pump-4' });
    await publish(good);
    await waitFor(() => webhook.callsFor(good.id).length > 0, { timeoutMs: 20_000, what: 'the valid alert' });
    await allAcked();
    expect(nodeRed.log).toMatch(/refused fl\.alerts\.critical\.pump-4 seq \d+: payload: is not valid JSON/);
    expect(nodeRed.log).toMatch(/subject: alert for pump-4\/info arrived on "fl\.alerts\.critical\.pump-4"/);
    expect(webhook.callsFor(wrongSubject.id)).toHaveLength(0);
  });

  it('info alerts skip the webhook and appear in the daily digest', async () => {
    const info = alert({ device: 'pump-5', severity: 'info' });
    await publish(info);
    await allAcked();
    expect(webhook.callsFor(info.id)).toHaveLength(0);
    const token = await nodeRed.adminToken();
    // Fires the digest's daily inject node now, through the (authenticated) admin API.
    const res = await fetch(`${nodeRed.url}/inject/fl-digest-tick`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    const digest = await waitFor(() => webhook.calls.find((c) => c.path === '/digest'), { timeoutMs: 20_000, what: 'the digest' });
    const body = digest.body as { kind: string; total: number; bySeverity: Record<string, number>; alerts: { id: string; state: string }[] };
    expect(body.kind).toBe('fieldline-digest');
    expect(body.alerts.map((x) => x.id)).toContain(info.id);
    expect(body.bySeverity.info).toBeGreaterThanOrEqual(1);
    // Each id + state once: repeats are suppressed and a retried delivery (pump-3) is recorded once.
    const keys = body.alerts.map((x) => `${x.id}|${x.state}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(body.alerts.filter((x) => x.id.startsWith('pump-3:'))).toHaveLength(1);
    await waitFor(() => mail.mails.find((m) => m.raw.includes('Subject: [fieldline] daily digest')), { timeoutMs: 20_000, what: 'the digest e-mail' });
  });
});

describe('durability across a Node-RED restart', () => {
  it('delivers alerts published while Node-RED was down, and still suppresses ones it had delivered', async () => {
    const delivered = alert({ device: 'pump-7' });
    await publish(delivered);
    await waitFor(() => webhook.callsFor(delivered.id).length > 0, { timeoutMs: 20_000, what: 'the first alert' });
    await allAcked();
    await nodeRed.close();
    const missed = alert({ device: 'pump-8', severity: 'warning' });
    await publish(missed);
    await publish(delivered, 'replayed-while-down');
    // Same user dir: same durable consumer, same credentials file, same file context store.
    nodeRed = await startNodeRed({ ...nodeRedOptions(), userDir: nodeRed.userDir });
    await waitFor(() => webhook.callsFor(missed.id).length > 0, { timeoutMs: 30_000, what: 'the alert published while down' });
    await allAcked();
    expect(webhook.callsFor(delivered.id)).toHaveLength(1);
  });
});

describe('Node-RED admin API', () => {
  it('answers 401 without credentials and 200 with a token from POST /auth/token', async () => {
    expect((await fetch(`${nodeRed.url}/flows`)).status).toBe(401);
    const bad = await fetch(`${nodeRed.url}/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ client_id: 'node-red-admin', grant_type: 'password', scope: '*', username: 'admin', password: 'wrong' }),
    });
    expect(bad.status).toBeGreaterThanOrEqual(400);
    const token = await nodeRed.adminToken();
    const res = await fetch(`${nodeRed.url}/flows`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    const flows = (await res.json()) as { type: string }[];
    expect(flows.some((n) => n.type === 'fieldline alerts')).toBe(true);
  });

  it('has the palette loaded: every node set enabled, and its editor help served', async () => {
    const headers = { authorization: `Bearer ${await nodeRed.adminToken()}` };
    const sets = (await (await fetch(`${nodeRed.url}/nodes`, { headers: { ...headers, accept: 'application/json' } })).json()) as {
      module: string;
      types: string[];
      enabled: boolean;
      err?: string;
    }[];
    const ours = sets.filter((s) => s.module === 'node-red-contrib-fieldline');
    expect(ours.flatMap((s) => s.types).sort()).toEqual(['fieldline ack', 'fieldline alerts', 'fieldline command', 'fieldline query', 'fieldline-config']);
    expect(ours.filter((s) => !s.enabled || s.err)).toEqual([]);
    const html = await (await fetch(`${nodeRed.url}/nodes`, { headers: { ...headers, accept: 'text/html' } })).text();
    for (const type of ['fieldline alerts', 'fieldline ack', 'fieldline query', 'fieldline command', 'fieldline-config']) {
      expect(html).toContain(`data-help-name="${type}"`);
    }
  });

  it('keeps node credentials encrypted with the credential secret', async () => {
    const { readFileSync } = await import('node:fs');
    const text = readFileSync(`${nodeRed.userDir}/flows_cred.json`, 'utf8');
    expect(text).not.toContain('unused-in-this-flow');
    expect(Object.keys(JSON.parse(text) as object)).toEqual(['$']);
  });
});
