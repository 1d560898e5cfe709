import type { SimulatedBoard } from '@fieldline/firmware-sim';

/** The edge config a user would write for the simulated boards of one device. */
export function edgeConfigFor(
  device: string,
  boards: SimulatedBoard[],
  opts: { stateDir: string; mqttUrl: string; passwordEnv: string },
): Record<string, unknown> {
  return {
    device,
    stateDir: opts.stateDir,
    mqtt: { url: opts.mqttUrl, passwordEnv: opts.passwordEnv },
    batching: { maxReadings: 200, maxDelayMs: 500 },
    heartbeat: { intervalMs: 5_000 },
    clock: { assumeSynced: true },
    ports: boards.map((b) => ({
      id: b.board,
      path: b.path,
      baudRate: b.baud,
      driver: b.protocol,
      options: driverOptions(b),
      channels: Object.fromEntries(b.channels.map((c, i) => [c, { sensor: c, ...(b.units[i] ? { unit: b.units[i] } : {}) }])),
    })),
  };
}

function driverOptions(b: SimulatedBoard): Record<string, unknown> {
  if (b.protocol === 'csv') return { columns: b.channels, timeColumn: b.timestamps };
  if (b.protocol === 'modbus') {
    return { unitId: b.unitId ?? 1, pollMs: 1000, registers: b.channels.map((channel, i) => ({ channel, address: 2 * i })) };
  }
  return {};
}
