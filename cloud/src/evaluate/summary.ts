import type { AlertEvent } from '@fieldline/contract';

const DAY = 86_400_000;

/** How the alerts of one labelled series compare with its windows. */
export interface FileSummary {
  path: string;
  rows: number;
  days: number;
  windows: number;
  /** Windows with an alert that opened inside them. */
  detected: number;
  misses: number;
  /** Per detected window, where its first alert opened: 0 = the window's start, 1 = its end. */
  positions: number[];
  /** Alerts that opened outside every window. */
  falseAlerts: number;
  alerts: number;
  alertsPerDay: number;
  /** Readings the pipeline judged late (a timestamp that went back), so not scored. */
  late: number;
}

export interface Totals {
  files: number;
  rows: number;
  days: number;
  windows: number;
  detected: number;
  misses: number;
  /** Mean position of the first alert inside detected windows (0 = start, 1 = end). */
  meanPosition: number | null;
  falseAlerts: number;
  alerts: number;
  /** Alerts per sensor (file) per day, averaged over files. */
  alertsPerSensorDay: number;
  falseAlertsPerSensorDay: number;
}

const round = (x: number, d = 4): number => Math.round(x * 10 ** d) / 10 ** d;

export function summarizeFile(path: string, ts: Float64Array, windows: readonly [number, number][], alerts: readonly AlertEvent[], late: number): FileSummary {
  const opened = alerts.filter((a) => a.state === 'firing').map((a) => a.start);
  let first = Infinity;
  let last = -Infinity;
  for (const t of ts) {
    if (t < first) first = t;
    if (t > last) last = t;
  }
  const days = Math.max((last - first) / DAY, 1 / 24);
  const positions: number[] = [];
  for (const [a, b] of windows) {
    const hit = opened.filter((t) => t >= a && t <= b);
    if (hit.length > 0) positions.push(round(b > a ? (Math.min(...hit) - a) / (b - a) : 0));
  }
  const falseAlerts = opened.filter((t) => !windows.some(([a, b]) => t >= a && t <= b)).length;
  return {
    path,
    rows: ts.length,
    days: round(days, 3),
    windows: windows.length,
    detected: positions.length,
    misses: windows.length - positions.length,
    positions,
    falseAlerts,
    alerts: opened.length,
    alertsPerDay: round(opened.length / days),
    late,
  };
}

export function totals(files: readonly FileSummary[]): Totals {
  const sum = (f: (x: FileSummary) => number): number => files.reduce((n, x) => n + f(x), 0);
  const positions = files.flatMap((f) => f.positions);
  const n = Math.max(files.length, 1);
  return {
    files: files.length,
    rows: sum((f) => f.rows),
    days: round(sum((f) => f.days), 3),
    windows: sum((f) => f.windows),
    detected: sum((f) => f.detected),
    misses: sum((f) => f.misses),
    meanPosition: positions.length ? round(positions.reduce((a, b) => a + b, 0) / positions.length) : null,
    falseAlerts: sum((f) => f.falseAlerts),
    alerts: sum((f) => f.alerts),
    alertsPerSensorDay: round(sum((f) => f.alerts / f.days) / n),
    falseAlertsPerSensorDay: round(sum((f) => f.falseAlerts / f.days) / n),
  };
}

/** The summary as a Markdown table (one row per file, then the totals). */
export function markdownTable(title: string, files: readonly FileSummary[], t: Totals): string {
  const pos = (p: number[]): string => (p.length ? p.map((x) => x.toFixed(2)).join(' ') : '–');
  const lines = [
    `### ${title}`,
    '',
    '| file | rows | days | windows | detected | misses | first alert in window (0 = start) | false alerts | alerts/day |',
    '| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: |',
    ...files.map((f) => `| ${f.path} | ${f.rows} | ${f.days} | ${f.windows} | ${f.detected} | ${f.misses} | ${pos(f.positions)} | ${f.falseAlerts} | ${f.alertsPerDay} |`),
    `| **all ${t.files} files** | ${t.rows} | ${t.days} | ${t.windows} | ${t.detected} | ${t.misses} | mean ${t.meanPosition ?? '–'} | ${t.falseAlerts} | ${t.alertsPerSensorDay} per sensor |`,
    '',
    `False alerts per sensor per day: ${t.falseAlertsPerSensorDay}.`,
  ];
  return lines.join('\n') + '\n';
}
