import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AlertEvent } from '@fieldline/contract';
import { afterAll, describe, expect, it } from 'vitest';
import { scoreAlerts } from '../../src/evaluate/scenario.js';
import { summarizeFile } from '../../src/evaluate/summary.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const fixture = join(root, 'test/fixtures/nab');
const cli = join(root, 'cloud/src/cli.ts');
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const temp = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'fl-evaluate-'));
  dirs.push(d);
  return d;
};

function evaluate(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--conditions=fieldline-src', '--import', 'tsx', cli, 'evaluate', ...args], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Every file below `dir` with its bytes, by relative path. */
function tree(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (d: string): void => {
    for (const e of readdirSync(d)) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else out.set(relative(dir, p), readFileSync(p));
    }
  };
  walk(dir);
  return out;
}

const alert = (over: Partial<AlertEvent>): AlertEvent => ({ v: 1, id: 'x', state: 'firing', severity: 'warning', device: 'd', sensor: 's', rule: 'anomaly', start: 0, ts: 0, value: 0, score: 1, message: 'm', ...over });

describe('fieldline-cloud evaluate (NAB format)', () => {
  it('writes one results row per input row, with the stored score and the label, and is byte-identical when run again', () => {
    const a = temp();
    const b = temp();
    const r1 = evaluate(fixture, '--labels', join(fixture, 'labels.json'), '--out', a);
    expect(r1.stderr).not.toMatch(/Error/);
    expect(r1.status).toBe(0);
    expect(r1.stdout).toMatch(/fieldline\s+3\s+/); // 3 labelled windows in the two files
    expect(r1.stdout).toMatch(/windowed-gaussian/);
    expect(evaluate(fixture, '--labels', join(fixture, 'labels.json'), '--out', b).status).toBe(0);

    const ta = tree(a);
    const tb = tree(b);
    expect([...ta.keys()].sort()).toEqual([...tb.keys()].sort());
    for (const [k, v] of ta) expect(tb.get(k)!.equals(v), k).toBe(true);
    expect([...ta.keys()].sort()).toEqual([
      'artificialWithAnomaly/art_daily_jumpsup.csv',
      'baseline/artificialWithAnomaly/art_daily_jumpsup.csv',
      'baseline/realKnownCause/rogue_agent_key_hold.csv',
      'baseline/summary.json',
      'baseline/summary.md',
      'realKnownCause/rogue_agent_key_hold.csv',
      'summary.json',
      'summary.md',
    ]);

    const input = readFileSync(join(fixture, 'artificialWithAnomaly/art_daily_jumpsup.csv'), 'utf8').trim().split(/\r?\n/);
    const out = ta.get('artificialWithAnomaly/art_daily_jumpsup.csv')!.toString().trim().split('\n');
    expect(out[0]).toBe('timestamp,value,anomaly_score,label');
    expect(out).toHaveLength(input.length);
    out.slice(1).forEach((line, i) => {
      const [ts, value, score, label] = line.split(',');
      expect(`${ts},${value}`).toBe(input[i + 1]);
      expect(Number(score) >= 0 && Number(score) <= 1).toBe(true);
      expect(['0', '1']).toContain(label);
    });
    // The labelled window covers 403 rows (2014-04-10 16:15 to 2014-04-12 01:45 at 5 minutes)…
    expect(out.filter((l) => l.endsWith(',1'))).toHaveLength(403);
    // …and the jump up inside it scores high.
    const inWindow = out.slice(1).filter((l) => l.endsWith(',1')).map((l) => Number(l.split(',')[2]));
    expect(Math.max(...inWindow)).toBeGreaterThan(0.5);

    const summary = JSON.parse(ta.get('summary.json')!.toString());
    expect(summary.detector).toBe('fieldline');
    expect(summary.totals).toMatchObject({ files: 2, rows: 4032 + 1882, windows: 3 });
    expect(summary.files[0]).toMatchObject({ path: 'artificialWithAnomaly/art_daily_jumpsup.csv', windows: 1, detected: 1, misses: 0 });
  });

  it('names what is wrong: usage (64), a bad config key (78), a bad input row (65)', () => {
    const missing = evaluate(fixture);
    expect(missing.status).toBe(64);
    expect(missing.stderr).toMatch(/needs <data-dir>, --labels and --out/);

    const dir = temp();
    const config = join(dir, 'processor.yaml');
    writeFileSync(config, 'detectors:\n  - { rule: a, type: anomaly, params: { warmup: "soon" } }\n');
    const bad = evaluate(fixture, '--labels', join(fixture, 'labels.json'), '--out', join(dir, 'out'), '--config', config);
    expect(bad.status).toBe(78);
    expect(bad.stderr).toMatch(/detectors\.?\[?0\]?\.params\.warmup/);

    const data = join(dir, 'data', 'g');
    spawnSync('mkdir', ['-p', data]);
    writeFileSync(join(data, 's.csv'), 'timestamp,value\n2024-01-01 00:00:00,1\n2024-01-01 00:05:00,oops\n');
    writeFileSync(join(dir, 'labels.json'), '{}');
    const row = evaluate(join(dir, 'data'), '--labels', join(dir, 'labels.json'), '--out', join(dir, 'out2'));
    expect(row.status).toBe(65);
    expect(row.stderr).toMatch(/s\.csv:3: expected "timestamp,value", got "2024-01-01 00:05:00,oops"/);
  });
});

describe('evaluate summaries', () => {
  it('counts windows found by an alert opening inside them, how early, false alerts and alerts per day', () => {
    const day = 86_400_000;
    const ts = Float64Array.from({ length: 289 }, (_, i) => i * 300_000); // one day at 5 minutes
    const windows: [number, number][] = [
      [day * 0.2, day * 0.4],
      [day * 0.6, day * 0.7],
    ];
    const alerts = [alert({ start: day * 0.25 }), alert({ state: 'resolved', start: day * 0.25 }), alert({ start: day * 0.3 }), alert({ start: day * 0.9 })];
    expect(summarizeFile('g/s.csv', ts, windows, alerts, 0)).toEqual({
      path: 'g/s.csv',
      rows: 289,
      days: 1,
      windows: 2,
      detected: 1,
      misses: 1,
      positions: [0.25],
      falseAlerts: 1,
      alerts: 3,
      alertsPerDay: 3,
      late: 0,
    });
  });

  it('scores scenario alerts against ground truth: per kind recall and delay, precision, false alerts per sensor-day', () => {
    const truth = [
      { device: 'd', sensor: 's', kind: 'spike', start: 1000, end: 2000 },
      { device: 'd', sensor: 's', kind: 'spike', start: 10_000, end: 11_000 },
      { device: 'd', sensor: 't', kind: 'dropout', start: 5000, end: 9000 },
    ];
    const alerts = [
      alert({ start: 1500 }), // finds the first spike, 500 ms late
      alert({ sensor: 't', rule: 'dropout', start: 9000 + 30_000 }), // within the 60 s grace after the dropout
      alert({ start: 200_000 }), // false: long after both spikes and their grace
      alert({ sensor: 'u', start: 1500 }), // another sensor: false
    ];
    const r = scoreAlerts(alerts, truth, 3, 2, 60_000);
    expect(r.kinds).toEqual([
      { kind: 'dropout', injected: 1, detected: 1, recall: 1, delayMedianMs: 34_000, delayMaxMs: 34_000 },
      { kind: 'spike', injected: 2, detected: 1, recall: 0.5, delayMedianMs: 500, delayMaxMs: 500 },
    ]);
    expect(r).toMatchObject({ alerts: 4, matched: 2, precision: 0.5, falseAlerts: 2, falseAlertsPerSensorDay: 0.3333 });
    expect(r.missed).toEqual([truth[1]]);
    expect(r.found.map((f) => f.alerts)).toEqual([1, 0, 1]);
    expect(r.rules).toEqual([
      { rule: 'anomaly', alerts: 3, falseAlerts: 2 },
      { rule: 'dropout', alerts: 1, falseAlerts: 0 },
    ]);
  });
});

describe('fieldline-cloud evaluate --scenario', () => {
  it('runs a firmware-sim scenario through the pipeline and finds its injected anomalies', () => {
    const dir = temp();
    const file = join(dir, 'small.yaml');
    writeFileSync(
      file,
      `name: small
start: 2025-03-03T00:00:00Z
duration: 3h
devices:
  - id: plant
    boards:
      - id: climate
        protocol: text-kv
        hz: 1
        timestamps: true
        channels:
          - { name: temp, model: temperature, level: 22 }
          - { name: hum, model: humidity, level: 55 }
        anomalies:
          - { kind: spike, channel: temp, at: 40m, every: 30m, count: 4, duration: 2s, magnitude: 3 }
          - { kind: dropout, channel: hum, at: 55m, every: 30m, count: 4, duration: 2m }
          - { kind: stuck, channel: temp, at: 70m, every: 30m, count: 3, duration: 5m }
`,
    );
    const r = evaluate('--scenario', file, '--out', dir);
    expect(r.stderr).not.toMatch(/Error/);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/scenario .*small.yaml \(seed 1\): 0.125 simulated days, 2 sensors, 21120 readings/);
    const result = JSON.parse(readFileSync(join(dir, 'scenario.json'), 'utf8'));
    expect(result.kinds.map((k: { kind: string; injected: number; recall: number }) => [k.kind, k.injected, k.recall])).toEqual([
      ['dropout', 4, 1],
      ['spike', 4, 1],
      ['stuck', 3, 1],
    ]);
    expect(result.falseAlerts).toBe(0);
  });
});
