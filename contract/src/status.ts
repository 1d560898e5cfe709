import { Type, type Static } from '@sinclair/typebox';
import { X_EXPECT } from './annotations.js';
import { ContractError } from './errors.js';
import { EventTimeSchema } from './envelope.js';
import { DeviceIdSchema } from './ids.js';
import { defineMessage, literalUnion } from './schema.js';

const StateSchema = literalUnion(['online', 'offline'], { [X_EXPECT]: 'must be "online" or "offline"' });

/** Retained on `fl/v1/{device}/status`; the Last Will carries `offline`. */
export const StatusMessageSchema = Type.Object(
  {
    v: Type.Literal(1),
    device: DeviceIdSchema,
    state: StateSchema,
    /** Device clock, epoch ms, when known. */
    ts: Type.Optional(EventTimeSchema),
  },
  { additionalProperties: false, description: 'Device status (fl/v1/{device}/status, retained; also the Last Will).' },
);
export type StatusMessage = Static<typeof StatusMessageSchema>;

export const statusMessage = defineMessage({ name: 'status', schema: StatusMessageSchema, maxBytes: 4096 });

/** Parses a status payload; `expectedDevice` is the id the sender authenticated as. */
export function parseStatus(payload: Uint8Array | string, expectedDevice?: string): StatusMessage {
  const s = statusMessage.parse(payload);
  if (expectedDevice !== undefined && s.device !== expectedDevice) {
    throw new ContractError('device_mismatch', 'device', `status names "${s.device}" but was sent by "${expectedDevice}"`);
  }
  return s;
}

/**
 * The gateway's view of a device's latest status: the value of key `{device}` in the status KV
 * bucket (`fl_device_status` by default), read by the query API.
 */
export const DeviceStatusEntrySchema = Type.Object(
  {
    ...StatusMessageSchema.properties,
    /** Whether the device said it (`status`) or the broker did for it (`will`). */
    source: literalUnion(['status', 'will'], { [X_EXPECT]: 'must be "status" or "will"' }),
    /** Gateway wall clock when it was stored, epoch ms. */
    receivedAt: EventTimeSchema,
    /**
     * The MQTT connection that said it: its epoch, increasing with every connection of the device
     * to any gateway. A status is stored only if no newer connection's status is (so a late Last
     * Will from a dead connection never overwrites what a newer one said). Absent: written before
     * connection epochs existed.
     */
    conn: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, [X_EXPECT]: 'must be a non-negative integer' })),
  },
  { additionalProperties: false, description: 'Latest device status as the gateway stored it (status KV bucket).' },
);
export type DeviceStatusEntry = Static<typeof DeviceStatusEntrySchema>;

export const deviceStatusEntry = defineMessage({ name: 'status entry', schema: DeviceStatusEntrySchema, maxBytes: 4096 });
export const parseStatusEntry = (payload: Uint8Array | string): DeviceStatusEntry => deviceStatusEntry.parse(payload);
