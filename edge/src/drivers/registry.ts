import type { DriverSpec } from './types.js';

const drivers = new Map<string, DriverSpec>();

/** Drivers call this when their module is imported (see `drivers/index.ts`). */
export function registerDriver(spec: DriverSpec): void {
  if (drivers.has(spec.id)) throw new Error(`serial driver "${spec.id}" is registered twice`);
  drivers.set(spec.id, spec);
}

export function getDriver(id: string): DriverSpec | undefined {
  return drivers.get(id);
}

export function driverIds(): string[] {
  return [...drivers.keys()].sort();
}
