import { collectProcessMetrics } from '@fieldline/runtime/metrics';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { EdgeMetrics } from './edge-metrics.js';

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** Every figure the gateway exposes on `/metrics`; one registry per gateway instance. */
export class GatewayMetrics {
  readonly registry = new Registry();
  readonly connectedDevices = new Gauge({ name: 'fieldline_gateway_connected_devices', help: 'Devices with an open MQTT session', registers: [this.registry] });
  readonly messagesIn = new Counter({ name: 'fieldline_gateway_messages_in_total', help: 'PUBLISH packets received from devices, by topic kind', labelNames: ['kind'], registers: [this.registry] });
  readonly bytesIn = new Counter({ name: 'fieldline_gateway_bytes_in_total', help: 'PUBLISH payload bytes received from devices', registers: [this.registry] });
  readonly readingsIn = new Counter({ name: 'fieldline_gateway_readings_in_total', help: 'Readings in valid envelopes stored in JetStream', registers: [this.registry] });
  readonly rejected = new Counter({ name: 'fieldline_gateway_rejected_total', help: 'Payloads refused by the wire contract, by reason', labelNames: ['reason'], registers: [this.registry] });
  readonly deadLettered = new Counter({ name: 'fieldline_gateway_deadlettered_total', help: 'Payloads stored in the DEADLETTER stream, by reason', labelNames: ['reason'], registers: [this.registry] });
  readonly refused = new Counter({ name: 'fieldline_gateway_refused_total', help: 'Connections, publishes and subscriptions refused by authentication or authorization', labelNames: ['why'], registers: [this.registry] });
  readonly clientErrors = new Counter({ name: 'fieldline_gateway_client_errors_total', help: 'Connections closed for protocol errors (malformed packets, oversize, timeouts)', registers: [this.registry] });
  readonly throttled = new Counter({ name: 'fieldline_gateway_throttled_total', help: 'PUBLISHes delayed by the per-device message or byte rate limit', registers: [this.registry] });
  readonly bundledEnvelopes = new Histogram({ name: 'fieldline_gateway_bundle_envelopes', help: 'Envelopes per TELEMETRY bundle (messages holding two or more; a lone envelope is stored alone)', buckets: [2, 4, 8, 16, 32, 64, 128, 256, 1000], registers: [this.registry] });
  readonly duplicates = new Counter({ name: 'fieldline_gateway_duplicates_total', help: 'Envelopes JetStream reported as duplicates (a resend of a stored batch)', registers: [this.registry] });
  readonly publishRetries = new Counter({ name: 'fieldline_gateway_js_publish_retries_total', help: 'JetStream publishes re-sent after a timeout or error', registers: [this.registry] });
  readonly payloadTooLarge = new Counter({
    name: 'fieldline_gateway_js_payload_too_large_total',
    help: "Messages the NATS server refused as over its max_payload (after a reconnect to a smaller server), by action: split (a bundle, stored envelope by envelope) or held (a lone message, its PUBACK held, re-sent until a server takes it)",
    labelNames: ['action'],
    registers: [this.registry],
  });
  readonly pendingEnvelopes = new Gauge({ name: 'fieldline_gateway_pending_envelopes', help: 'Envelopes awaiting a JetStream ack', registers: [this.registry] });
  readonly pendingBytes = new Gauge({ name: 'fieldline_gateway_pending_bytes', help: 'Bytes awaiting a JetStream ack', registers: [this.registry] });
  readonly natsConnected = new Gauge({ name: 'fieldline_gateway_nats_connected', help: '1 while connected to NATS', registers: [this.registry] });
  readonly commandsOut = new Counter({ name: 'fieldline_gateway_commands_out_total', help: 'Downlink commands forwarded from NATS to MQTT, by result', labelNames: ['result'], registers: [this.registry] });
  readonly statusUpdates = new Counter({ name: 'fieldline_gateway_status_updates_total', help: 'Device status KV writes, by result', labelNames: ['result'], registers: [this.registry] });
  readonly jsPublishSeconds = new Histogram({ name: 'fieldline_gateway_js_publish_seconds', help: 'JetStream publish to PubAck latency', buckets: LATENCY_BUCKETS, registers: [this.registry] });
  readonly pubackSeconds = new Histogram({ name: 'fieldline_gateway_puback_seconds', help: 'PUBLISH received to PUBACK released (includes throttling and waiting for NATS)', buckets: LATENCY_BUCKETS, registers: [this.registry] });

  /** The devices' own figures from their heartbeats (`fieldline_edge_*`). */
  readonly edge = new EdgeMetrics(this.registry);

  constructor() {
    collectProcessMetrics(this.registry);
  }
}
