import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { loadScenario, type Scenario } from './scenario.js';

/** `firmware-sim/scenarios/` (the same from `src/` and `dist/`). */
export const BUILTIN_DIR = fileURLToPath(new URL('../scenarios/', import.meta.url));

export interface BuiltinScenario {
  name: string;
  path: string;
  description: string;
  devices: number;
  boards: number;
}

export function listBuiltinScenarios(): BuiltinScenario[] {
  return readdirSync(BUILTIN_DIR)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => {
      const path = join(BUILTIN_DIR, f);
      const s = loadScenario(path);
      return { name: s.name, path, description: s.description ?? '', devices: s.devices.length, boards: s.devices.reduce((n, d) => n + d.boards.length, 0) };
    });
}

/** A path, or the name of a built-in scenario (`greenhouse`). */
export function resolveScenario(nameOrPath: string): Scenario {
  const builtin = join(BUILTIN_DIR, `${nameOrPath}.yaml`);
  return loadScenario(!existsSync(nameOrPath) && /^[a-z0-9-]+$/.test(nameOrPath) && existsSync(builtin) ? builtin : nameOrPath);
}
