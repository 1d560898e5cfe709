// The wire contract v1: every message on the wire has one schema and one parser here.
export * from './errors.js';
export * from './annotations.js';
export * from './ids.js';
export * from './limits.js';
export * from './schema.js';
export * from './generated/json-schemas.js';
export * from './envelope.js';
export * from './bundle.js';
export * from './status.js';
export * from './commands.js';
export * from './events.js';
export * from './deadletter.js';
export * from './topics.js';

import { commandMessage, commandReply, rejectionNotice } from './commands.js';
import { envelopeMessage } from './envelope.js';
import { alertEvent, sessionSummary } from './events.js';
import { deviceStatusEntry, statusMessage } from './status.js';

/** Every wire message by name (the property test feeds each one arbitrary bytes). */
export const MESSAGES = {
  envelope: envelopeMessage,
  status: statusMessage,
  statusEntry: deviceStatusEntry,
  command: commandMessage,
  commandReply,
  rejectionNotice,
  alert: alertEvent,
  session: sessionSummary,
} as const;
