// Importing a detector's module registers it.
import './threshold/index.js';
import './baseline/index.js';
import './rate-of-change/index.js';
import './flatline/index.js';
import './dropout/index.js';
import './anomaly/index.js';
import './window/index.js';

export { DEFAULT_DETECTORS } from './defaults.js';
export { detectorTypes, getDetectorPlugin, registerDetector } from './registry.js';
export type { Detector, DetectorPlugin, DetectorResult } from './types.js';
export { plainState, SnapshotError, StateReader, StateWriter } from './state-codec.js';
