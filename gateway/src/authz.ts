import { isValidId, parseTopic, TOPIC_PREFIX, type TopicKind } from '@fieldline/contract';

/**
 * Pure authorization rules (architecture: "a device may publish only under its own id").
 * Each returns the refusal reason (a metric label) or null when allowed.
 */

/** What a device may publish: its own telemetry and status, nothing else (commands are downlink). */
export function checkPublishTopic(device: string, topic: string): { kind: TopicKind } | { refused: string } {
  if (topic.startsWith('$')) return { refused: 'sys_topic' };
  if (topic.includes('+') || topic.includes('#')) return { refused: 'wildcard_publish' };
  const t = parseTopic(topic);
  if (!t) return { refused: 'unknown_topic' };
  if (t.device !== device) return { refused: 'other_device_topic' };
  if (t.kind === 'commands') return { refused: 'commands_publish' };
  return { kind: t.kind };
}

/** A device may subscribe only to its own commands: `fl/v1/{id}/commands/#`, `/+` or `/{name}`. */
export function checkSubscribeTopic(device: string, filter: string): string | null {
  const prefix = `${TOPIC_PREFIX}/${device}/commands/`;
  if (!filter.startsWith(prefix)) return filter.startsWith('$') ? 'sys_topic' : 'other_topic_subscribe';
  const rest = filter.slice(prefix.length);
  if (rest === '#' || rest === '+' || isValidId(rest)) return null;
  return 'other_topic_subscribe';
}

/** The client id is the device id (MQTT-3.1.3-5 allows more; fieldline does not). */
export function checkClientId(clientId: string): string | null {
  return isValidId(clientId) ? null : 'bad_client_id';
}

/** A Last Will may only be the device's own status message. */
export function checkWillTopic(device: string, topic: string): string | null {
  const r = checkPublishTopic(device, topic);
  if ('refused' in r) return r.refused;
  return r.kind === 'status' ? null : 'will_not_status';
}
