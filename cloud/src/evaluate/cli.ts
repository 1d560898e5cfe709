import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseCliArgs, UsageError } from '@fieldline/runtime';
import cliProgress from 'cli-progress';
import { evaluateNab } from './nab.js';
import { evaluateScenario, scenarioTable } from './scenario.js';

/** Shown by `fieldline-cloud evaluate --help`. */
export const USAGE = `usage:
  fieldline-cloud evaluate <data-dir> --labels <windows.json> --out <dir> [--config <processor.yaml>] [--no-baseline]
      Runs every <group>/<name>.csv (timestamp,value) online through the processor's pipeline and
      writes <out>/<group>/<name>.csv (timestamp,value,anomaly_score,label), <out>/summary.{json,md};
      the windowed-Gaussian baseline goes to <out>/baseline/.
  fieldline-cloud evaluate --scenario <name|file> [--seed N] [--duration 3d] [--config <processor.yaml>] [--out <dir>]
      Runs a firmware-sim scenario through the pipeline and prints recall, precision and detection
      delay per anomaly kind and false alerts per sensor per simulated day (JSON in <out>/scenario.json).
`;

function parseDuration(s: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(s.trim());
  if (!m) throw new UsageError(`--duration: expected e.g. 90s, 30m, 2h, 3d; got "${s}"`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[(m[2] ?? 's') as 'ms'];
  return Number(m[1]) * unit;
}

function bar(unit: string): cliProgress.SingleBar | undefined {
  if (!process.stderr.isTTY) return undefined;
  const b = new cliProgress.SingleBar(
    { stream: process.stderr, format: `evaluate [{bar}] {percentage}% {value}/{total} ${unit} {file}`, hideCursor: true, clearOnComplete: true, fps: 10 },
    cliProgress.Presets.shades_classic,
  );
  return b;
}

/**
 * `fieldline-cloud evaluate …` (the arguments after `evaluate`). Errors follow runtime's CLI
 * conventions through the caller's runCli: 64 usage, 65 bad input data, 78 bad configuration.
 */
export async function main(argv: string[]): Promise<number> {
  const { values: v, positionals } = parseCliArgs({
    args: argv,
    allowPositionals: true,
    options: {
      labels: { type: 'string' },
      out: { type: 'string' },
      config: { type: 'string', short: 'c' },
      'no-baseline': { type: 'boolean' },
      scenario: { type: 'string' },
      seed: { type: 'string' },
      duration: { type: 'string' },
    },
  });
  const t0 = Date.now();
  if (v.scenario !== undefined) {
    if (positionals.length > 0) throw new UsageError('give either a data directory or --scenario, not both');
    const seed = v.seed === undefined ? 1 : Number(v.seed);
    if (!Number.isInteger(seed)) throw new UsageError(`--seed: expected an integer, got "${v.seed}"`);
    const durationMs = v.duration === undefined ? undefined : parseDuration(v.duration);
    const b = bar('simulated min');
    b?.start(1, 0, { file: v.scenario });
    let r;
    try {
      r = await evaluateScenario({
        scenario: v.scenario,
        seed,
        ...(durationMs !== undefined ? { durationMs } : {}),
        ...(v.config !== undefined ? { config: v.config } : {}),
        progress: (done, total) => {
          b?.setTotal(Math.round(total / 60_000));
          b?.update(Math.round(done / 60_000), { file: v.scenario });
        },
      });
    } finally {
      b?.stop();
    }
    process.stdout.write(scenarioTable(r));
    if (v.out !== undefined) {
      mkdirSync(v.out, { recursive: true });
      writeFileSync(join(v.out, 'scenario.json'), JSON.stringify(r, null, 2) + '\n');
    }
  } else {
    if (positionals.length !== 1 || v.labels === undefined || v.out === undefined) throw new UsageError('needs <data-dir>, --labels and --out (or --scenario)');
    const b = bar('rows');
    b?.start(1, 0, { file: '' });
    let runs;
    try {
      runs = evaluateNab({
        dataDir: positionals[0]!,
        labels: v.labels,
        out: v.out,
        ...(v.config !== undefined ? { config: v.config } : {}),
        baseline: !v['no-baseline'],
        progress: (done, total, file) => {
          b?.setTotal(total);
          b?.update(done, { file });
        },
      });
    } finally {
      b?.stop();
    }
    const pct = (a: number, n: number): string => (n ? `${((100 * a) / n).toFixed(0)} %` : '–');
    process.stdout.write(`${'detector'.padEnd(18)} ${'windows'.padStart(8)} ${'detected'.padStart(9)} ${'misses'.padStart(7)} ${'mean pos'.padStart(9)} ${'false'.padStart(6)} ${'false/sensor/day'.padStart(17)}\n`);
    for (const r of runs) {
      const t = r.totals;
      process.stdout.write(
        `${r.name.padEnd(18)} ${String(t.windows).padStart(8)} ${`${t.detected} ${pct(t.detected, t.windows)}`.padStart(9)} ${String(t.misses).padStart(7)} ${String(t.meanPosition ?? '–').padStart(9)} ${String(t.falseAlerts).padStart(6)} ${String(t.falseAlertsPerSensorDay).padStart(17)}\n`,
      );
    }
    process.stdout.write(`results in ${v.out} (summary.md, summary.json; baseline/ for the windowed Gaussian)\n`);
  }
  process.stderr.write(`evaluate: done in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  return 0;
}
