/**
 * The sweep as an SVG chart (hand-written: two panels of lines need no library): throughput
 * (offered, acked, written to InfluxDB) and p99 latency (PUBACK, alert, queryable; log scale)
 * against offered load, in % of the maximum measured end to end.
 */
import type { Sweep } from './sweep.js';

const W = 760;
const PANEL_H = 230;
const M = { left: 78, right: 170, top: 40, gap: 62, bottom: 46 };
const H = M.top + PANEL_H * 2 + M.gap + M.bottom;
const PLOT_W = W - M.left - M.right;

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** About five round ticks from 0 to at least `max`. */
export function niceTicks(max: number): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / 5;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const ticks: number[] = [];
  for (let v = 0; v < max + step * 0.999; v += step) ticks.push(Math.round(v * 1e6) / 1e6);
  return ticks;
}

const si = (v: number): string => (v >= 1e6 ? `${+(v / 1e6).toFixed(2)}M` : v >= 1e3 ? `${+(v / 1e3).toFixed(1)}k` : `${+v.toFixed(2)}`);

interface Series {
  label: string;
  color: string;
  dash?: string;
  points: [number, number | null | undefined][];
}

function lines(series: Series[], x: (v: number) => number, y: (v: number) => number): string {
  return series
    .map((s) => {
      const pts = s.points.filter((p): p is [number, number] => typeof p[1] === 'number' && Number.isFinite(p[1]));
      if (pts.length === 0) return '';
      const d = pts.map(([a, b], i) => `${i ? 'L' : 'M'}${x(a).toFixed(1)},${y(b).toFixed(1)}`).join(' ');
      const dots = pts.map(([a, b]) => `<circle cx="${x(a).toFixed(1)}" cy="${y(b).toFixed(1)}" r="3" fill="${s.color}"/>`).join('');
      return `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>${dots}`;
    })
    .join('\n');
}

function legend(series: Series[], top: number): string {
  return series
    .map((s, i) => {
      const y = top + 14 + i * 20;
      const x = W - M.right + 16;
      return `<line x1="${x}" y1="${y}" x2="${x + 22}" y2="${y}" stroke="${s.color}" stroke-width="2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/><text x="${x + 28}" y="${y + 4}">${esc(s.label)}</text>`;
    })
    .join('\n');
}

export function sweepChart(s: Sweep, title: string): string {
  const loads = s.steps.map((x) => x.load_pct);
  const xMax = Math.max(120, ...loads);
  const x = (v: number): number => M.left + (v / xMax) * PLOT_W;
  const xTicks = Array.from({ length: Math.floor(xMax / 20) + 1 }, (_, i) => i * 20);

  const top = M.top;
  const tput: Series[] = [
    { label: 'offered', color: '#888', dash: '5 4', points: s.steps.map((p) => [p.load_pct, p.offered_readings_per_s]) },
    { label: 'acked (PUBACK)', color: '#1f77b4', points: s.steps.map((p) => [p.load_pct, p.acked_readings_per_s]) },
    { label: 'end to end', color: '#2ca02c', points: s.steps.map((p) => [p.load_pct, p.e2e_readings_per_s]) },
  ];
  const yMax = Math.max(1, ...tput.flatMap((t) => t.points.map((p) => p[1] ?? 0)));
  const yTicks = niceTicks(yMax);
  const yTop = yTicks.at(-1)!;
  const y1 = (v: number): number => top + PANEL_H - (v / yTop) * PANEL_H;

  const bottom = top + PANEL_H + M.gap;
  const latency: Series[] = [
    { label: 'PUBACK p99', color: '#1f77b4', points: s.steps.map((p) => [p.load_pct, p.puback_ms.p99]) },
    { label: 'alert p99', color: '#d62728', points: s.steps.map((p) => [p.load_pct, p.probe.alert_ms?.p99]) },
    { label: 'queryable p99', color: '#9467bd', points: s.steps.map((p) => [p.load_pct, p.probe.queryable_ms?.p99]) },
    { label: 'alert p50', color: '#d62728', dash: '2 3', points: s.steps.map((p) => [p.load_pct, p.probe.alert_ms?.p50]) },
  ];
  const lat = latency.flatMap((l) => l.points.map((p) => p[1])).filter((v): v is number => typeof v === 'number' && v > 0);
  const lo = 10 ** Math.floor(Math.log10(Math.min(1, ...lat)));
  const hi = 10 ** Math.ceil(Math.log10(Math.max(10, ...lat)));
  const y2 = (v: number): number => bottom + PANEL_H - ((Math.log10(Math.max(v, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * PANEL_H;
  const decades: number[] = [];
  for (let d = lo; d <= hi * 1.0001; d *= 10) decades.push(d);

  const grid = (ys: number[], fy: (v: number) => number, fmt: (v: number) => string): string =>
    ys.map((v) => `<line x1="${M.left}" x2="${M.left + PLOT_W}" y1="${fy(v).toFixed(1)}" y2="${fy(v).toFixed(1)}" stroke="#e5e5e5"/><text x="${M.left - 8}" y="${(fy(v) + 4).toFixed(1)}" text-anchor="end">${fmt(v)}</text>`).join('\n');
  const xAxis = (y0: number): string =>
    xTicks.map((t) => `<line x1="${x(t).toFixed(1)}" x2="${x(t).toFixed(1)}" y1="${y0}" y2="${y0 + 5}" stroke="#333"/><text x="${x(t).toFixed(1)}" y="${y0 + 18}" text-anchor="middle">${t} %</text>`).join('\n');
  const frame = (y0: number): string => `<rect x="${M.left}" y="${y0}" width="${PLOT_W}" height="${PANEL_H}" fill="none" stroke="#333"/>`;
  const max100 = `<line x1="${x(100).toFixed(1)}" x2="${x(100).toFixed(1)}" y1="${top}" y2="${bottom + PANEL_H}" stroke="#bbb" stroke-dasharray="3 3"/>`;

  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif" font-size="12">
<rect width="100%" height="100%" fill="#fff"/>
<text x="${M.left}" y="22" font-size="14" font-weight="bold">${esc(title)}</text>
${grid(yTicks, y1, si)}
${frame(top)}
<text x="18" y="${top + PANEL_H / 2}" transform="rotate(-90 18 ${top + PANEL_H / 2})" text-anchor="middle">readings/s</text>
${lines(tput, x, y1)}
${legend(tput, top)}
${grid(decades, y2, (v) => (v >= 1000 ? `${v / 1000} s` : `${v} ms`))}
${frame(bottom)}
<text x="18" y="${bottom + PANEL_H / 2}" transform="rotate(-90 18 ${bottom + PANEL_H / 2})" text-anchor="middle">latency (log)</text>
${lines(latency, x, y2)}
${legend(latency, bottom)}
${max100}
${xAxis(top + PANEL_H)}
${xAxis(bottom + PANEL_H)}
<text x="${M.left + PLOT_W / 2}" y="${H - 8}" text-anchor="middle">offered load, % of the maximum measured end to end (${esc(si(s.max_readings_per_s))} readings/s)</text>
</svg>
`;
}
