import { Type, type Static } from '@sinclair/typebox';
import { X_EXPECT } from './annotations.js';
import { ContractError, REJECT_REASONS } from './errors.js';
import { ID_PATTERN } from './ids.js';
import { defineMessage, literalUnion } from './schema.js';

/** Largest command accepted from NATS (and by the API). */
export const MAX_COMMAND_BYTES = 64 * 1024;
/** The notice the gateway itself sends on `fl/v1/{device}/commands/rejected`; nobody may forge one. */
export const REJECTED_COMMAND = 'rejected';

export const CommandIdSchema = Type.String({ pattern: '^[A-Za-z0-9_.:-]{1,128}$', [X_EXPECT]: 'must be 1-128 characters of [A-Za-z0-9_.:-]', description: 'Command id, e.g. a UUID.' });
export const CommandNameSchema = Type.String({
  pattern: ID_PATTERN.source,
  maxLength: 63,
  not: { const: REJECTED_COMMAND },
  [X_EXPECT]: 'must match [a-z0-9][a-z0-9_-]{0,62}',
  description: 'Command name (an MQTT topic level); `rejected` is reserved for the gateway.',
});
export const CommandArgsSchema = Type.Record(Type.String(), Type.Unknown(), { description: 'Arguments, any JSON object.' });

/** Downlink on `fl/v1/{device}/commands/{name}` (from NATS `fl.commands.{device}`). */
export const CommandMessageSchema = Type.Object(
  { v: Type.Literal(1), id: CommandIdSchema, name: CommandNameSchema, args: Type.Optional(CommandArgsSchema) },
  { additionalProperties: false, description: 'A command to one device (NATS fl.commands.{device} -> MQTT fl/v1/{device}/commands/{name}).' },
);
export type CommandMessage = Static<typeof CommandMessageSchema>;

export const commandMessage = defineMessage({ name: 'command', schema: CommandMessageSchema, maxBytes: MAX_COMMAND_BYTES });
export const parseCommand = (payload: Uint8Array | string): CommandMessage => commandMessage.parse(payload);

/** The gateway's answer to a command sent as a NATS request: `delivered` = the device has a session there. */
export const CommandReplySchema = Type.Object(
  { ok: Type.Boolean(), delivered: Type.Optional(Type.Boolean()), error: Type.Optional(Type.String({ maxLength: 1024 })) },
  { additionalProperties: false, description: '{ok: true, delivered} or {ok: false, error}.' },
);
export type CommandReply = Static<typeof CommandReplySchema>;

export const commandReply = defineMessage({
  name: 'command reply',
  schema: CommandReplySchema,
  maxBytes: 4096,
  check: (r) => {
    if (r.ok && r.delivered === undefined) throw new ContractError('bad_schema', 'delivered', 'is required when ok is true');
    if (!r.ok && r.error === undefined) throw new ContractError('bad_schema', 'error', 'is required when ok is false');
  },
});
export const parseCommandReply = (payload: Uint8Array | string): CommandReply => commandReply.parse(payload);

/**
 * Sent by the gateway on `fl/v1/{device}/commands/rejected` when a batch could never pass:
 * the batch was dead-lettered and acknowledged (or, for `packet_too_large`, refused unread before
 * the connection closed), so the device must not resend it.
 */
export const RejectionNoticeSchema = Type.Object(
  {
    v: Type.Literal(1),
    name: Type.Literal(REJECTED_COMMAND),
    args: Type.Object(
      {
        /** `{device}:{epoch}:{seq}` of the refused batch, or null when the payload named none. */
        batch: Type.Union([Type.String({ maxLength: 256 }), Type.Null()], { [X_EXPECT]: 'must be a batch id or null' }),
        reason: literalUnion(REJECT_REASONS, { [X_EXPECT]: `must be one of ${REJECT_REASONS.join(', ')}` }),
        error: Type.String({ maxLength: 1024 }),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false, description: 'The gateway tells a device that one of its batches was dead-lettered.' },
);
export type RejectionNotice = Static<typeof RejectionNoticeSchema>;

export const rejectionNotice = defineMessage({ name: 'notice', schema: RejectionNoticeSchema, maxBytes: 4096 });
export const parseRejectionNotice = (payload: Uint8Array | string): RejectionNotice => rejectionNotice.parse(payload);
