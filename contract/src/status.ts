import type { Static } from '@sinclair/typebox';
import { ContractError } from './errors.js';
import { DeviceStatusEntrySchema, StatusMessageSchema } from './generated/json-schemas.js';
import { validateDeviceStatusEntry, validateStatusMessage } from './generated/validators.js';
import { defineMessage } from './schema.js';
import type * as TB from './schemas.js';

/** Retained on `fl/v1/{device}/status`; the Last Will carries `offline`. */
export type StatusMessage = Static<typeof TB.StatusMessageSchema>;
/**
 * The gateway's view of a device's latest status: the value of key `{device}` in the status KV
 * bucket (`fl_device_status` by default), read by the query API.
 */
export type DeviceStatusEntry = Static<typeof TB.DeviceStatusEntrySchema>;

export const statusMessage = defineMessage<StatusMessage>({ name: 'status', schema: StatusMessageSchema, validator: validateStatusMessage, maxBytes: 4096 });

/** Parses a status payload; `expectedDevice` is the id the sender authenticated as. */
export function parseStatus(payload: Uint8Array | string, expectedDevice?: string): StatusMessage {
  const s = statusMessage.parse(payload);
  if (expectedDevice !== undefined && s.device !== expectedDevice) {
    throw new ContractError('device_mismatch', 'device', `status names "${s.device}" but was sent by "${expectedDevice}"`);
  }
  return s;
}

export const deviceStatusEntry = defineMessage<DeviceStatusEntry>({ name: 'status entry', schema: DeviceStatusEntrySchema, validator: validateDeviceStatusEntry, maxBytes: 4096 });
export const parseStatusEntry = (payload: Uint8Array | string): DeviceStatusEntry => deviceStatusEntry.parse(payload);
