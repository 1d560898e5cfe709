export * from './errors.js';
export * from './ids.js';
export * from './envelope.js';
export * from './topics.js';
export * from './events.js';
