export { cleanupAll, onCleanup } from './cleanup.js';
export { MissingBinaryError, ServiceStartError } from './errors.js';
export { InfluxServer, type InfluxOptions, type InfluxSeries } from './influx.js';
export { NatsServer, type NatsOptions } from './nats.js';
export { ManagedProcess, type ManagedProcessOptions } from './process.js';
export { PtyPair, type PtyPairOptions } from './pty.js';
export { findBinary, freePort, sleep, tempDir, waitFor } from './util.js';
