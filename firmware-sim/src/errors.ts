import { ConfigError } from '@fieldline/runtime';

/** A scenario file or object broke the schema. `issues` name each key path, e.g. `devices[0].boards[1].hz`. */
export class ScenarioError extends ConfigError {
  override name = 'ScenarioError';
}

/** A replay CSV could not be read or has a bad row (the message names file and line). */
export class ReplayError extends Error {
  override readonly name = 'ReplayError';
}

/** Starting or running a simulation failed (pty, serial port). */
export class SimulationError extends Error {
  override readonly name = 'SimulationError';
}

/** Fleet mode failed to connect or publish. */
export class FleetError extends Error {
  override readonly name = 'FleetError';
}
