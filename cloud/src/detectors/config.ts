import { SEVERITIES, type Severity } from '@fieldline/contract';
import { z } from 'zod';
import { detectorTypes, getDetectorPlugin } from './index.js';
import type { Detector } from './types.js';

const glob = z.string().min(1).max(64);

export const detectorEntrySchema = z
  .object({
    /** Rule name: alert tag and part of the alert id. Entries sharing a rule override each other by specificity. */
    rule: z.string().min(1),
    /** Plugin: threshold, baseline, rate-of-change, flatline, dropout. */
    type: z.string().min(1),
    /** @default 'warning' */
    severity: z.enum(SEVERITIES as [Severity, ...Severity[]]).default('warning'),
    /** Which sensors the entry applies to: `*` globs on ids, or an exact unit ("kind"). @default all sensors */
    match: z.object({ device: glob.optional(), sensor: glob.optional(), unit: z.string().min(1).optional() }).strict().default({}),
    /** The plugin's own settings (see its README). */
    params: z.record(z.unknown()).default({}),
  })
  .strict()
  .transform((entry, ctx) => {
    const plugin = getDetectorPlugin(entry.type);
    if (!plugin) {
      ctx.addIssue({ code: 'custom', path: ['type'], message: `unknown detector "${entry.type}"; known: ${detectorTypes().join(', ')}` });
      return z.NEVER;
    }
    const parsed = plugin.params.safeParse(entry.params);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) ctx.addIssue({ ...issue, path: ['params', ...issue.path] });
      return z.NEVER;
    }
    return { ...entry, params: parsed.data as Record<string, unknown> };
  });

export type DetectorEntry = z.output<typeof detectorEntrySchema>;

export interface BoundDetector {
  rule: string;
  severity: Severity;
  detector: Detector;
}

const globToRegex = (g: string): RegExp => new RegExp(`^${g.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);

/**
 * Resolves which detectors apply to a sensor: per rule, the most specific matching entry wins
 * (exact device/sensor/unit beat globs), so a sensor kind can be configured once and a single
 * sensor overridden. Ties go to the later entry.
 */
export class DetectorResolver {
  private readonly entries: { entry: DetectorEntry; test: (d: string, s: string, u: string | undefined) => boolean; specificity: number; detector: Detector }[];
  private readonly shared = new Map<string, BoundDetector[]>();

  constructor(entries: readonly DetectorEntry[]) {
    this.entries = entries.map((entry) => {
      const dev = entry.match.device ? globToRegex(entry.match.device) : null;
      const sen = entry.match.sensor ? globToRegex(entry.match.sensor) : null;
      const unit = entry.match.unit;
      const spec = (g: string | undefined, w: number): number => (g === undefined ? 0 : g.includes('*') ? w : 2 * w);
      return {
        entry,
        test: (d, s, u) => (!dev || dev.test(d)) && (!sen || sen.test(s)) && (unit === undefined || unit === u),
        specificity: spec(entry.match.device, 1) + spec(entry.match.sensor, 4) + (unit === undefined ? 0 : 3),
        detector: getDetectorPlugin(entry.type)!.create(entry.params),
      };
    });
  }

  /**
   * Detectors for a sensor, in config order of their rules. The unit of the sensor's first
   * reading decides. Sensors with the same choice share one array (state stays per sensor).
   */
  resolve(device: string, sensor: string, unit: string | undefined): readonly BoundDetector[] {
    const best = new Map<string, { specificity: number; index: number }>();
    this.entries.forEach((e, index) => {
      if (!e.test(device, sensor, unit)) return;
      const prev = best.get(e.entry.rule);
      if (!prev || e.specificity >= prev.specificity) best.set(e.entry.rule, { specificity: e.specificity, index });
    });
    const chosen = [...best.values()].map((x) => x.index);
    const key = chosen.join(',');
    let bound = this.shared.get(key);
    if (!bound) {
      bound = chosen.map((i) => {
        const e = this.entries[i]!;
        return { rule: e.entry.rule, severity: e.entry.severity, detector: e.detector };
      });
      this.shared.set(key, bound);
    }
    return bound;
  }
}
