// The real-service harness of tests, benchmarks and the demo. Process management and pty pairs
// live in @fieldline/runtime/process (firmware-sim ships with them); this builds on them.
export { cleanupAll, findBinary, ManagedProcess, MissingBinaryError, onCleanup, PtyPair, ServiceStartError, tempDir, type ManagedProcessOptions, type PtyPairOptions } from '@fieldline/runtime/process';
export { InfluxServer, type InfluxOptions, type InfluxSeries } from './influx.js';
export { NatsServer, type NatsOptions } from './nats.js';
export { NatsCluster, type NatsClusterOptions } from './nats-cluster.js';
export { procStats, type ProcStats } from './proc.js';
export { PrometheusServer, type PrometheusOptions, type PrometheusSample, type PrometheusTarget } from './prometheus.js';
export { freePort, sleep, startOnFreePorts, teardown, waitFor } from './util.js';
