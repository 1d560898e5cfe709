import type { DetectorPlugin } from './types.js';

const plugins = new Map<string, DetectorPlugin>();

/** Detector plugins call this from their module (self-registration on import). */
export function registerDetector<P>(plugin: DetectorPlugin<P>): void {
  if (plugins.has(plugin.type)) throw new Error(`detector "${plugin.type}" is registered twice`);
  plugins.set(plugin.type, plugin as DetectorPlugin);
}

export function getDetectorPlugin(type: string): DetectorPlugin | undefined {
  return plugins.get(type);
}

export function detectorTypes(): string[] {
  return [...plugins.keys()];
}
