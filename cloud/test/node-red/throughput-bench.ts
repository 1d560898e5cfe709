/**
 * `npm run bench:node-red -w cloud`: alerts through the example flow (suppress repeats, route,
 * webhook, ack) on real nats-server and Node-RED, publish -> webhook latency and throughput.
 * Baseline in the same run: a bare nats.js durable consumer doing the same essential work
 * (parse, POST to the same webhook, ack) with the same 16 in flight, so the table shows what
 * Node-RED and the flow add. Not a test: run it alone, the machine is shared.
 */
import { readFileSync } from 'node:fs';
import { AckPolicy, DeliverPolicy, connect } from 'nats';
import { alertId, STREAMS, subjects, type AlertEvent } from '@fieldline/contract';
import { NatsServer, cleanupAll, waitFor } from '@fieldline/harness';
import { startNodeRed } from '../../node-red/launch.mjs';
import { WebhookReceiver } from './webhook-receiver.js';

const N = Number(process.env.BENCH_ALERTS ?? 1000);
const IN_FLIGHT = 16;

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
};
const r1 = (x: number): number => Math.round(x * 10) / 10;
const rssMb = (pid: number | undefined): number => {
  const m = pid ? /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8')) : null;
  return m ? r1(Number(m[1]) / 1024) : NaN;
};

function alerts(prefix: string, start: number): AlertEvent[] {
  return Array.from({ length: N }, (_, i) => {
    const a = { v: 1 as const, state: 'firing' as const, severity: 'warning' as const, device: `${prefix}-${i % 50}`, sensor: 'temp', rule: 'bench', start: start + i, ts: start + i, value: i, score: 1, message: 'bench' };
    return { ...a, id: alertId(a) };
  });
}

const nats = await NatsServer.start();
const webhook = await WebhookReceiver.start();
const arrived = new Map<string, number>();
const origPush = webhook.calls.push.bind(webhook.calls);
webhook.calls.push = (...calls) => {
  for (const c of calls) arrived.set((c.body as AlertEvent).id, performance.now());
  return origPush(...calls);
};
const nc = await connect({ servers: nats.url });
try {
  const jsm = await nc.jetstreamManager();
  const js = nc.jetstream();
  await jsm.streams.add({ name: STREAMS.ALERTS.name, subjects: [...STREAMS.ALERTS.subjects] });

  async function run(label: string, list: AlertEvent[], settled: () => boolean | Promise<boolean>): Promise<{ perS: number; p50: number; p95: number }> {
    const sent = new Map<string, number>();
    const t0 = performance.now();
    for (const a of list) {
      sent.set(a.id, performance.now());
      await js.publish(subjects.alerts(a.severity, a.device), JSON.stringify(a), { msgID: `${a.id}:${a.state}` });
    }
    await waitFor(settled, { timeoutMs: 300_000, intervalMs: 20, what: `${label}: all alerts handled` });
    const secs = (performance.now() - t0) / 1000;
    const lat = list.map((a) => arrived.get(a.id)! - sent.get(a.id)!);
    return { perS: r1(list.length / secs), p50: r1(pct(lat, 50)), p95: r1(pct(lat, 95)) };
  }

  // Baseline: bare consumer, same work per alert.
  await jsm.consumers.add(STREAMS.ALERTS.name, { durable_name: 'bench-baseline', ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.New, max_ack_pending: IN_FLIGHT });
  const messages = await (await js.consumers.get(STREAMS.ALERTS.name, 'bench-baseline')).consume({ max_messages: IN_FLIGHT });
  void (async () => {
    for await (const m of messages) {
      const a = JSON.parse(m.string()) as AlertEvent;
      void fetch(`${webhook.url}/alerts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(a) }).then(async (res) => {
        await res.arrayBuffer();
        m.ack();
      });
    }
  })();
  const baseList = alerts('base', 1_000_000);
  const base = await run('baseline', baseList, () => baseList.every((a) => arrived.has(a.id)));
  messages.stop();
  await jsm.consumers.delete(STREAMS.ALERTS.name, 'bench-baseline');

  const nodeRed = await startNodeRed({
    adminPassword: 'bench admin password',
    credentialSecret: 'bench-secret',
    env: { FL_NATS_URL: nats.url, FL_API_URL: 'http://127.0.0.1:9', FL_ALERT_WEBHOOK_URL: `${webhook.url}/alerts`, FL_NODE_RED_LOG_LEVEL: 'warn' },
  });
  try {
    await waitFor(() => jsm.consumers.info(STREAMS.ALERTS.name, 'node-red-alerts').then(() => true), { timeoutMs: 30_000 });
    const rssIdle = rssMb(nodeRed.pid);
    const nrList = alerts('nr', 2_000_000);
    const acked = async () => {
      const ci = await jsm.consumers.info(STREAMS.ALERTS.name, 'node-red-alerts');
      return nrList.every((a) => arrived.has(a.id)) && ci.num_ack_pending === 0 && ci.num_pending === 0;
    };
    const nr = await run('node-red', nrList, acked);
    const rssLoaded = rssMb(nodeRed.pid);

    console.log(`\n${N} warning alerts, ${IN_FLIGHT} in flight, webhook on loopback (shared 2-core machine)\n`);
    console.log('path                              alerts/s   p50 ms   p95 ms');
    console.log(`bare nats.js consumer (baseline)  ${String(base.perS).padStart(8)} ${String(base.p50).padStart(8)} ${String(base.p95).padStart(8)}`);
    console.log(`Node-RED example flow             ${String(nr.perS).padStart(8)} ${String(nr.p50).padStart(8)} ${String(nr.p95).padStart(8)}`);
    console.log(`Node-RED RSS: ${rssIdle} MB idle, ${rssLoaded} MB after the run\n`);
    console.log(
      JSON.stringify({
        alerts: N,
        node_red_alerts_per_s: nr.perS,
        node_red_p50_ms: nr.p50,
        node_red_p95_ms: nr.p95,
        baseline_alerts_per_s: base.perS,
        baseline_p50_ms: base.p50,
        baseline_p95_ms: base.p95,
        node_red_rss_mb: rssLoaded,
      }),
    );
  } finally {
    await nodeRed.close();
  }
} finally {
  await nc.close();
  await webhook.close();
  await nats.stop();
  cleanupAll();
}
