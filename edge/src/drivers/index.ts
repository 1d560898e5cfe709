// Importing a driver module registers it (each folder is a self-contained plugin).
import './text-kv/index.js';
import './csv/index.js';
import './jsonl/index.js';
import './nmea/index.js';
import './modbus/index.js';

export { driverIds, getDriver, registerDriver } from './registry.js';
export type { DriverSpec, Frame, LineDriverSpec, PollContext, PollDriver, PollDriverSpec } from './types.js';
