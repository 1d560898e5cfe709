// The cloud deployable: stream processors, the query API/dashboard, and the one InfluxDB module.
export * from './influx/index.js';
export * from './processor/index.js';
export * from './api/index.js';
