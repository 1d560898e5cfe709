/**
 * The numbers the schemas (src/schemas.ts) and the parsers share. This module imports nothing, so
 * the schema generator (`npm run gen`) can load the schemas without the generated code.
 */
export const ENVELOPE_VERSION = 1;
/** Largest telemetry payload a gateway accepts (bytes). Also the broker's packet budget. */
export const MAX_ENVELOPE_BYTES = 256 * 1024;
/**
 * Largest TELEMETRY bundle (bytes): envelopes of one device the gateway stores as one message
 * (bundle.ts). Half of NATS's default `max_payload` (1 MiB), so a bundle always fits.
 */
export const MAX_BUNDLE_BYTES = 512 * 1024;
/** Most envelopes in one TELEMETRY bundle. */
export const MAX_BUNDLE_ENVELOPES = 1000;
/** Most readings in one batch envelope. */
export const MAX_READINGS = 5000;
/**
 * Latest event time accepted (ms): 2262-04-11T23:47:16.854Z, the last whole millisecond InfluxDB
 * can store (its timestamps are int64 nanoseconds, at most 2^63 - 2 ns). A later time could pass
 * the contract only to be refused by the sink, so the bound is the sink's.
 */
export const MAX_TS_MS = 9_223_372_036_854;
/** Longest unit of a reading (characters). */
export const MAX_UNIT_LENGTH = 32;

/** Largest command accepted from NATS (and by the API). */
export const MAX_COMMAND_BYTES = 64 * 1024;
/** The notice the gateway itself sends on `fl/v1/{device}/commands/rejected`; nobody may forge one. */
export const REJECTED_COMMAND = 'rejected';
