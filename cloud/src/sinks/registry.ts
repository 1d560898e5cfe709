import type { SinkFactory } from './types.js';

const factories = new Map<string, SinkFactory>();

/** Sink plugins call this from their module (self-registration on import). */
export function registerSink(kind: string, factory: SinkFactory): void {
  if (factories.has(kind)) throw new Error(`sink "${kind}" is registered twice`);
  factories.set(kind, factory);
}

export function getSinkFactory(kind: string): SinkFactory {
  const f = factories.get(kind);
  if (!f) throw new Error(`unknown sink "${kind}"; registered: ${[...factories.keys()].join(', ')}`);
  return f;
}
