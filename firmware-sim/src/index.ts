export * from './errors.js';
export { parseDuration } from './duration.js';
export { createRng, deriveSeed, normalAt, uniformAt, type Rng } from './prng.js';
export {
  loadScenario,
  parseScenario,
  ANOMALY_KINDS,
  FAULT_KINDS,
  PROTOCOLS,
  SIGNAL_MODELS,
  type Anomaly,
  type AnomalyKind,
  type Board,
  type Channel,
  type Device,
  type Fault,
  type FleetDefaults,
  type FaultKind,
  type Protocol,
  type Scenario,
  type ScenarioInput,
  type SignalModel,
} from './scenario.js';
export { MODEL_DEFAULTS, cleanValue, quantise, signalParams, type SignalParams } from './signals.js';
export { readReplayCsv, type ReplayRow } from './replay.js';
export { BoardPlan, planScenario, type GroundTruthRecord } from './plan.js';
export { generateSamples, type GenerateOptions, type Sample, type SampleRun } from './generator.js';
export { runFleet, type FleetOptions, type FleetResult } from './fleet.js';
export { createLogger } from './log.js';
export { BUILTIN_DIR, listBuiltinScenarios, resolveScenario, type BuiltinScenario } from './builtin.js';
export { startSimulation, type Simulation, type SimulatedBoard, type SimulationOptions } from './simulation.js';
export type { BoardStats, SentReading, SentRecorder } from './board.js';
export { encodeLineFrame } from './protocols/line.js';
export { encodeXdr, nmeaChecksum, type XdrField } from './protocols/nmea.js';
export { crc16, withCrc, registerImage, ModbusSlave, MODBUS_EXCEPTION, type RegisterSpec } from './protocols/modbus.js';
