// The one InfluxDB module: config, secrets and auth for both APIs (connection.ts), line-protocol
// encoding (line-protocol.ts) and fieldline's points (points.ts), writes (writer*.ts, batching.ts),
// queries (query.ts) and version detection. The processor and the query API use it; nothing
// else in the tree speaks to InfluxDB.
export { influxConfigSchema, type InfluxConfig } from './config.js';
export { apiForVersion, connectInflux, credentials, detectInfluxApi, type InfluxApi, type InfluxConnection } from './connection.js';
export { classifyStatus, InfluxQueryError, InfluxStorageError, InfluxWriteError, type WriteFailure } from './errors.js';
export { encodeFieldValue, encodePoint, encodeStringField, escapeKey, escapeMeasurement, LineProtocolError, msToNs, readTag, type FieldValue, type Point } from './line-protocol.js';
export { alertLine, Points, readingLine, readingSeries, rollupText, roundScore, sessionLine, type ReadingSeries, type RollupRepair, type RollupValues } from './points.js';
export { DEFAULT_ROLLUPS, resolveTiers, rollupTierSchema, tiersSchema, type RollupTier, type StorageTarget, type Tiers, type TiersConfig, type TiersConfigInput } from './tiers.js';
export { ensureRetention, type RetentionReport } from './retention.js';
export { createInfluxWriter, type LineWriter } from './writer.js';
export { BatchingSink, type BatchingSinkOptions } from './batching.js';
export { createInfluxQuery, seriesRows, type InfluxQuery, type InfluxSeries, type Row } from './query.js';
