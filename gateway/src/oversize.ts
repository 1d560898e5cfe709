import { commandsTopic, headerText, rejectionNotice, telemetryTopic } from '@fieldline/contract';
import type { Client } from 'aedes';

/**
 * The batch an oversize PUBLISH carried, from its first bytes (the packet is never read whole):
 * its topic must be the device's telemetry topic, and the payload start `{"v":1,"device":…,
 * "epoch":…,"seq":…` as the edge writes it. Null when that cannot be read.
 */
export function oversizeBatch(device: string, head: Buffer | undefined): string | null {
  if (!head || head.length < 2 || head[0]! >> 4 !== 3) return null;
  const qos = (head[0]! >> 1) & 3;
  let i = 1;
  while (i < head.length && head[i]! & 0x80) i++;
  i++;
  if (i + 2 > head.length) return null;
  const topicLength = head.readUInt16BE(i);
  i += 2;
  if (head.toString('utf8', i, i + topicLength) !== telemetryTopic(device)) return null;
  i += topicLength + (qos > 0 ? 2 : 0);
  const m = /"epoch":"([a-z0-9]{8,32})","seq":([1-9]\d{0,15})[,}]/.exec(head.toString('latin1', i));
  return m && Number.isSafeInteger(Number(m[2])) ? `${device}:${m[1]}:${m[2]}` : null;
}

/** MQTT topic filter match (`+` one level, `#` the rest), MQTT 3.1.1 §4.7. */
export function filterMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length || (f[i] !== '+' && f[i] !== t[i])) return false;
  }
  return f.length === t.length;
}

/**
 * Tells a device why its connection closes on an oversize packet: the rejection notice on its
 * rejected topic (QoS 0, written before the close), where MQTT allows it, that is when the device
 * subscribed to that topic. Resolves true once written, false when it could not be told.
 */
export function tellOversize(client: Client, device: string, why: string, head: Buffer | undefined): Promise<boolean> {
  const topic = commandsTopic(device, 'rejected');
  const subscribed = Object.keys((client as Client & { subscriptions?: Record<string, unknown> }).subscriptions ?? {}).some((f) => filterMatches(f, topic));
  if (!subscribed || client.closed) return Promise.resolve(false);
  const notice = rejectionNotice.encode({ v: 1, name: 'rejected', args: { batch: oversizeBatch(device, head), reason: 'packet_too_large', error: headerText(why) } });
  return new Promise((resolve) => {
    client.publish({ cmd: 'publish', topic, payload: Buffer.from(notice), qos: 0, retain: false, dup: false }, (err) => resolve(!err));
  });
}
