import type { Static } from '@sinclair/typebox';
import { ContractError } from './errors.js';
import { CommandMessageSchema, CommandReplySchema, RejectionNoticeSchema } from './generated/json-schemas.js';
import { validateCommandMessage, validateCommandReply, validateRejectionNotice } from './generated/validators.js';
import { MAX_COMMAND_BYTES } from './limits.js';
import { defineMessage } from './schema.js';
import type * as TB from './schemas.js';

/** Downlink on `fl/v1/{device}/commands/{name}` (from NATS `fl.commands.{device}`). */
export type CommandMessage = Static<typeof TB.CommandMessageSchema>;
/** The gateway's answer to a command sent as a NATS request: `delivered` = the device has a session there. */
export type CommandReply = Static<typeof TB.CommandReplySchema>;
/**
 * Sent by the gateway on `fl/v1/{device}/commands/rejected` when a batch could never pass:
 * the batch was dead-lettered and acknowledged (or, for `packet_too_large`, refused unread before
 * the connection closed), so the device must not resend it.
 */
export type RejectionNotice = Static<typeof TB.RejectionNoticeSchema>;

export const commandMessage = defineMessage<CommandMessage>({ name: 'command', schema: CommandMessageSchema, validator: validateCommandMessage, maxBytes: MAX_COMMAND_BYTES });
export const parseCommand = (payload: Uint8Array | string): CommandMessage => commandMessage.parse(payload);

export const commandReply = defineMessage<CommandReply>({
  name: 'command reply',
  schema: CommandReplySchema,
  validator: validateCommandReply,
  maxBytes: 4096,
  check: (r) => {
    if (r.ok && r.delivered === undefined) throw new ContractError('bad_schema', 'delivered', 'is required when ok is true');
    if (!r.ok && r.error === undefined) throw new ContractError('bad_schema', 'error', 'is required when ok is false');
  },
});
export const parseCommandReply = (payload: Uint8Array | string): CommandReply => commandReply.parse(payload);

export const rejectionNotice = defineMessage<RejectionNotice>({ name: 'notice', schema: RejectionNoticeSchema, validator: validateRejectionNotice, maxBytes: 4096 });
export const parseRejectionNotice = (payload: Uint8Array | string): RejectionNotice => rejectionNotice.parse(payload);
