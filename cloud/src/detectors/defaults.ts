/**
 * The detectors a processor runs when its config lists none: they need no knowledge of the
 * sensor's kind, unit or sample rate (docs/detectors.md).
 */
export const DEFAULT_DETECTORS = [
  { rule: 'anomaly', type: 'anomaly', severity: 'warning' },
  { rule: 'stuck', type: 'flatline', severity: 'warning' },
  { rule: 'dropout', type: 'dropout', severity: 'warning' },
] as const;
