import { describe, expect, it } from 'vitest';
import { sweepChart, niceTicks } from '../src/chart.js';
import { parseOptions } from '../src/options.js';
import { summarizeProfile } from '../src/profile.js';
import { flushDelta } from '../src/e2e.js';
import { cpuTicks, machineSpeed, stealPct } from '../src/machine-speed.js';
import { bucketQuantile, histogramBuckets, metricByLabel, metricSum } from '../src/prom.js';
import { renderMarkdown, renderText, summary, sustained, tables } from '../src/report.js';
import { percentiles } from '../src/stats.js';
import { targets } from '../src/targets.js';
import { fixture } from './fixture.js';
import type { SweepStep } from '../src/sweep.js';

describe('percentiles', () => {
  it('uses the nearest rank and reports the max and count', () => {
    const xs = Array.from({ length: 200 }, (_, i) => 200 - i); // 1..200, unsorted
    expect(percentiles(xs)).toEqual({ p50: 100, p99: 198, max: 200, n: 200 });
    expect(percentiles([7])).toEqual({ p50: 7, p99: 7, max: 7, n: 1 });
    expect(percentiles([])).toBeNull();
  });
});

describe('metricSum (Prometheus text)', () => {
  const text = [
    '# HELP fieldline_processor_readings_total Readings processed',
    '# TYPE fieldline_processor_readings_total counter',
    'fieldline_processor_readings_total{partition="0"} 1200',
    'fieldline_processor_readings_total{partition="1",note="a}b"} 34.5',
    'fieldline_processor_readings_total_other 999',
    'fieldline_processor_lag_messages 7 1700000000000',
  ].join('\n');
  it('sums every label set of one metric and nothing else', () => {
    expect(metricSum(text, 'fieldline_processor_readings_total')).toBe(1234.5);
    expect(metricSum(text, 'fieldline_processor_lag_messages')).toBe(7);
    expect(metricSum(text, 'absent_metric')).toBe(0);
  });

  it('sums by one label', () => {
    const refused = ['fieldline_gateway_refused_total{why="connection_rate"} 650', 'fieldline_gateway_refused_total{why="bad_password",x="1"} 2', 'fieldline_gateway_refused_total{x="q\\"why=\\"no",why="connection_rate"} 5'].join('\n');
    expect(metricByLabel(refused, 'fieldline_gateway_refused_total', 'why')).toEqual({ connection_rate: 655, bad_password: 2 });
  });
});

describe('histogram buckets (Prometheus text)', () => {
  const scrape = (counts: number[]): string =>
    ['0.001', '0.01', '0.1', '+Inf'].map((le, i) => `fieldline_processor_delay_seconds_bucket{le="${le}"} ${counts[i]}`).join('\n');

  it('sums the buckets of several scrapes by le, and ignores other metrics', () => {
    const text = [scrape([1, 5, 9, 10]), scrape([0, 2, 2, 2]), 'fieldline_processor_delay_seconds_count 12', 'other_bucket{le="0.1"} 99'].join('\n');
    expect(histogramBuckets(text, 'fieldline_processor_delay_seconds')).toEqual([
      { le: 0.001, count: 1 },
      { le: 0.01, count: 7 },
      { le: 0.1, count: 11 },
      { le: Infinity, count: 12 },
    ]);
  });

  it('estimates a quantile as histogram_quantile does: linear in its bucket, the top finite bound past it', () => {
    const b = histogramBuckets(scrape([0, 50, 100, 100]), 'fieldline_processor_delay_seconds');
    // Rank 50 of 100 is the last of the (0.001, 0.01] bucket; rank 75 is halfway through (0.01, 0.1].
    expect(bucketQuantile(0.5, b)).toBeCloseTo(0.01, 9);
    expect(bucketQuantile(0.75, b)).toBeCloseTo(0.055, 9);
    expect(bucketQuantile(0.99, histogramBuckets(scrape([0, 0, 0, 4]), 'fieldline_processor_delay_seconds'))).toBe(0.1);
    expect(bucketQuantile(0.5, histogramBuckets(scrape([0, 0, 0, 0]), 'fieldline_processor_delay_seconds'))).toBeNaN();
  });

  it('gives a run the delay of the messages between two scrapes only', () => {
    const at = (counts: number[]) => ({ stages: {}, loop_wait_s: 0, delay: histogramBuckets(scrape(counts), 'fieldline_processor_delay_seconds') });
    // 100 messages before; 100 more, all in (0.001, 0.01].
    const run = flushDelta(at([0, 100, 100, 100]), at([0, 200, 200, 200]));
    expect(run.delay_ms).toEqual({ messages: 100, p50: 5.5, p99: 9.9 });
    expect(flushDelta(at([0, 1, 1, 1]), at([0, 1, 1, 1])).delay_ms).toBeUndefined();
  });
});

describe('machine speed', () => {
  it('parses envelopes on one core and on all at a positive rate, and counts stolen ticks against all', async () => {
    const speed = await machineSpeed(50, 2);
    expect(speed.one_core_envelopes_per_s).toBeGreaterThan(0);
    expect(speed.all_cores_envelopes_per_s).toBeGreaterThan(0);
    expect(stealPct({ total: 1000, steal: 10 }, { total: 3000, steal: 110 })).toBe(5);
    expect(stealPct({ total: 1000, steal: 10 }, { total: 1000, steal: 10 })).toBe(0);
    const now = cpuTicks();
    expect(now.total).toBeGreaterThan(0);
    expect(now.steal).toBeLessThanOrEqual(now.total);
  });
});

describe('targets', () => {
  it('checks each target against what was measured, and says by how much a miss is', () => {
    const t = targets(fixture());
    const by = (prefix: string) => t.find((x) => x.name.startsWith(prefix))!;
    // 280k of 400k raw = 70 %, no loss.
    expect(by('100 readings/envelope: end to end')).toMatchObject({ pass: true, measured: '70 %' });
    // 33k < 40k, and 10 readings lost: both in the gap.
    expect(by('1 reading/envelope')).toMatchObject({ pass: false });
    expect(by('1 reading/envelope').gap).toMatch(/missed by 7,000 readings\/s \(18 %\); 10 readings lost/);
    expect(by('reading -> alert p99')).toMatchObject({ pass: true, measured: '40 ms' });
    expect(by('reading -> queryable p99')).toMatchObject({ pass: true });
    // 280k / 14k = 20x < 500x.
    expect(by('vs the Node-RED')).toMatchObject({ pass: false, measured: '20 x' });
    expect(by('burst: peak RSS')).toMatchObject({ pass: false, gap: 'missed by 176 MB (17 %)' });
    expect(by('edge agent CPU')).toMatchObject({ pass: true, measured: '2.1 %' });
  });

  it('marks a target not measured when its phase did not run', () => {
    const r = fixture();
    delete r.sweep;
    delete r.node_red;
    const t = targets(r);
    expect(t.find((x) => x.name.startsWith('reading -> alert'))).toMatchObject({ pass: null, measured: 'not measured' });
    expect(t.find((x) => x.name.startsWith('vs the Node-RED'))!.pass).toBeNull();
  });
});

describe('where the sweep stopped rising', () => {
  // The 02:09 run's shape: kept up to half load, stored most at 75 %, less past it.
  const at = (load_pct: number, offered: number, stored: number) => ({ ...fixture().sweep!.steps[0]!, load_pct, offered_readings_per_s: offered, e2e_readings_per_s: stored }) as SweepStep;
  const steps = [at(10, 14_821, 14_792), at(25, 37_052, 37_346), at(50, 74_103, 71_981), at(75, 111_155, 79_043), at(100, 148_206, 73_954), at(120, 177_847, 37_105)];

  it('names the highest step that stored >= 95 % of its offer, and the step that stored the most', () => {
    const { keptUp, peak } = sustained(steps);
    expect(keptUp?.load_pct).toBe(50);
    expect(peak?.load_pct).toBe(75);
    // 94 % of the offer is not keeping up; a later step that keeps up again counts.
    expect(sustained([at(10, 10_000, 9_400)]).keptUp).toBeUndefined();
    expect(sustained([at(10, 10_000, 9_400), at(50, 50_000, 49_000)]).keptUp?.load_pct).toBe(50);
    expect(sustained([])).toEqual({ keptUp: undefined, peak: undefined });
  });

  it('says so under the sweep table and in the JSON line', () => {
    const r = fixture();
    r.sweep!.steps = steps;
    expect(renderText(r)).toContain('lost 0; kept up (stored >= 95 % of the offered load) up to the 50 % step: 71,981 of 74,103 readings/s; most stored in a step: 79,043 readings/s at 75 %');
    expect(summary(r)).toMatchObject({ sweep_kept_up_readings_per_s: 71_981, sweep_peak_readings_per_s: 79_043 });
  });
});

describe('report', () => {
  it('renders every phase as a table, in text and in Markdown', () => {
    const r = fixture();
    const titles = tables(r).map((t) => t.title);
    for (const want of ['End to end', 'Raw limits', 'Open-loop sweep', 'Burst', 'Baseline', 'CPU', 'Edge footprint', 'Targets']) expect(titles.some((t) => t.startsWith(want))).toBe(true);
    const text = renderText(r);
    // The machine's speed at the start and the end, and the CPU the hypervisor took: runs on a virtual machine differ by them.
    expect(text.split('\n')[0]).toContain('machine speed (100-reading envelopes parsed and encoded/s) 12,345 on one core, 24,000 on all at the start, 11,000 on one core, 6,789 on all at the end; CPU stolen by the hypervisor 4.2 %');
    expect(text).toMatch(/^100\s+280,000\s+290,000\s+0\s+70 %\s+28 %\s+35 %/m);
    // 4.2 % stolen: the header says the figures are low; a quiet run's does not.
    expect(text.split('\n')[0]).toMatch(/CPU stolen by the hypervisor 4\.2 % \(a noisy host: runs with 1 % or more stolen measured 15-30 % less; compare with a quieter run\)$/);
    expect(renderText({ ...r, machine: { ...r.machine, steal_pct: 0.4 } }).split('\n')[0]).toMatch(/stolen by the hypervisor 0\.4 %$/);
    // The processor's flush steps, as its metrics gave them (a step not seen shows '-').
    // The closed-loop run has no delay figures (as in a file written before they were measured).
    expect(text).toMatch(/^100 readings\/envelope\s+600\s+40\s+30\s+-\s+-\s+-\s+2\s+35\s+3.5\s+-$/m);
    // …and those of a sweep step that has them; a step without them (an older file) has no row.
    expect(text).toMatch(/^sweep 50 %\s+120\s+-\s+18\s+-\s+-\s+-\s+-\s+21\s+0\s+3.2 \/ 31.5$/m);
    expect(text).not.toMatch(/^sweep 10 %/m);
    const md = renderMarkdown(r, 'latest.svg');
    expect(md).toContain('![throughput and latency against offered load](latest.svg)');
    expect(md).toContain('| 50 % | 100,000 | 100,000 | 100,000 | 2 / 9 / 12 | 20 / 40 / 41 | 300 / 600 / 605 | 80 | 0 | 0 |');
    // CPU / main thread waiting for a core / peak RSS; a process without schedstat figures shows '-'.
    expect(md).toMatch(/^\| e2e 100\/envelope \| 40 \/ 12 \/ 220 \| 90 \/ - \/ 310 \|/m);
    // Every Markdown table row has as many cells as its header.
    for (const block of md.split('\n\n').filter((b) => b.startsWith('| '))) {
      const cells = block.split('\n').filter(Boolean).map((l) => l.replace(/\\\|/g, '').split('|').length);
      expect(new Set(cells).size).toBe(1);
    }
  });

  it('ends with one JSON line of named figures, each with its unit in the name', () => {
    const s = summary(fixture());
    const line = JSON.stringify(s);
    expect(JSON.parse(line)).toEqual(s);
    expect(s).toMatchObject({ e2e_100_readings_per_s: 280_000, e2e_100_of_raw_influx_pct: 70, e2e_1_lost_readings: 10, half_load_alert_p99_ms: 40, burst_drain_s: 25, node_red_zero_loss_readings_per_s: 14_000, targets_missed_count: 3 });
    // The processor's wait for a core where it was measured, null where it was not.
    expect(s).toMatchObject({ e2e_100_processor_main_wait_pct: null });
    expect(summary({ ...fixture(), e2e: fixture().e2e!.map((e) => ({ ...e, procs: { ...e.procs, processor: { ...e.procs.processor!, main_wait_pct: 33 } } })) })).toMatchObject({ e2e_100_processor_main_wait_pct: 33 });
    expect(s).toMatchObject({ machine_speed_start_one_core_envelopes_per_s: 12_345, machine_speed_end_all_cores_envelopes_per_s: 6_789, steal_pct: 4.2 });
    const units = /_(per_s|pct|ms|s|mb|readings|devices|count)$/;
    for (const k of Object.keys(s).filter((k) => !['mode', 'load_avg_1m_start'].includes(k))) expect(k).toMatch(units);
  });
});

describe('sweep chart', () => {
  it('draws each series through every step, on round ticks, with nothing undefined', () => {
    const svg = sweepChart(fixture().sweep!, 'test <run>');
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(svg).toContain('test &lt;run&gt;');
    expect(svg).not.toMatch(/NaN|undefined|Infinity/);
    // 3 throughput + 4 latency series, 4 steps each.
    expect(svg.match(/<path /g)).toHaveLength(7);
    expect(svg.match(/<circle /g)).toHaveLength(28);
    expect(niceTicks(230_000)).toEqual([0, 50_000, 100_000, 150_000, 200_000, 250_000]);
  });
});

describe('profile summary', () => {
  it('ranks functions by self time, without idle, with repository-relative places', () => {
    const frame = (functionName: string, url: string, lineNumber = 0) => ({ functionName, url, lineNumber });
    const profile = {
      nodes: [
        { id: 1, callFrame: frame('(root)', '') },
        { id: 2, callFrame: frame('(idle)', '') },
        { id: 3, callFrame: frame('flush', 'file:///repo/cloud/src/processor/partition-worker.ts', 233) },
        { id: 4, callFrame: frame('parse', 'file:///repo/contract/src/envelope.ts', 0) },
        { id: 5, callFrame: frame('flush', 'file:///repo/cloud/src/processor/partition-worker.ts', 233) },
      ],
      samples: [2, 2, 3, 3, 3, 4, 5, 2],
      timeDeltas: [1e5, 1e5, 1e5, 1e5, 1e5, 1e5, 1e5, 1e5], // µs
      startTime: 0,
      endTime: 8e5,
    };
    const s = summarizeProfile(profile, '/repo');
    expect(s).toMatchObject({ sampled_s: 0.8, busy_s: 0.5 });
    expect(s.top).toEqual([
      { function: 'flush', where: 'cloud/src/processor/partition-worker.ts:234', self_pct: 80 },
      { function: 'parse', where: 'contract/src/envelope.ts', self_pct: 20 },
    ]);
  });
});

describe('options', () => {
  it('has a quick preset and names the option that is wrong', () => {
    const q = parseOptions(['--quick', '--skip', 'node-red,edge'], '/tmp/out');
    expect(q).toMatchObject({ mode: 'quick', seconds: 3, devices: 20, burstDevices: 100, backlogMinutes: 2, loads: [50, 100, 120] });
    expect(q !== 'help' && [...q.skip]).toEqual(['node-red', 'edge']);
    expect(parseOptions(['--seconds', '30'], '/tmp/out')).toMatchObject({ mode: 'default', seconds: 30, burstDevices: 1000, backlogMinutes: 10, out: '/tmp/out' });
    expect(() => parseOptions(['--skip', 'nope'], '/tmp')).toThrow(/--skip: unknown phase "nope"/);
    expect(() => parseOptions(['--loads', '10,x'], '/tmp')).toThrow(/--loads/);
    expect(parseOptions([], '/tmp')).toMatchObject({ probeHz: 50 });
    expect(parseOptions(['--probe-hz', '200'], '/tmp')).toMatchObject({ probeHz: 200 });
    expect(() => parseOptions(['--probe-hz', '0'], '/tmp')).toThrow(/--probe-hz/);
    expect(() => parseOptions(['--sizes', '6000'], '/tmp')).toThrow(/--sizes/);
    expect(() => parseOptions(['--bogus'], '/tmp')).toThrow(/bogus/);
    expect(parseOptions(['--help'], '/tmp')).toBe('help');
  });
});
