// The cloud deployable: stream processors and the query API/dashboard.
export * from './influx/config.js';
export * from './processor/index.js';
export * from './api/index.js';
