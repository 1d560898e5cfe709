// `@fieldline/runtime/process`: child processes that are always stopped, and virtual serial
// cables (socat pty pairs). Used by firmware-sim at run time and by the test harness.
export { cleanupAll, onCleanup } from './cleanup.js';
export { MissingBinaryError, ServiceStartError } from './errors.js';
export { ManagedProcess, type ManagedProcessOptions } from './managed-process.js';
export { PtyPair, type PtyPairOptions } from './pty.js';
export { findBinary, tempDir } from './util.js';
// Bounded waits belong to stopping things too (the harness's teardown).
export { settlesWithin } from '../deadline.js';
