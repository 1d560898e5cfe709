import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { loadProcessorConfig, type ProcessorConfig } from '../processor/config.js';
import type { PipelineConfig } from '../processor/pipeline.js';
import { runSeries, toId } from './run-series.js';
import { EvaluateInputError, findCsvFiles, readLabels, readSeries, type Series } from './series.js';
import { markdownTable, summarizeFile, totals, type FileSummary, type Totals } from './summary.js';
import { registerWindowedGaussian } from './windowed-gaussian.js';

export interface NabOptions {
  dataDir: string;
  labels: string;
  out: string;
  /** A processor config file; its windows, detectors and alerts are used for every file. @default the processor defaults */
  config?: string;
  /** Also run the windowed-Gaussian baseline into `<out>/baseline`. @default true */
  baseline?: boolean;
  /** Called as rows are processed (for a progress bar). */
  progress?: (done: number, total: number, file: string) => void;
}

export interface NabRun {
  name: string;
  files: FileSummary[];
  totals: Totals;
}

/** The baseline alone, with its default alert threshold and the same alert lifecycle. */
const BASELINE_DETECTORS = [{ rule: 'windowed-gaussian', type: 'windowed-gaussian', severity: 'warning' }];

function pipelineConfig(config: ProcessorConfig): PipelineConfig {
  return { windows: config.windows, detectors: config.detectors, alerts: config.alerts };
}

/** One results file in NAB's format: the input rows with the stored score and the label. */
function resultsCsv(s: Series, scores: Float64Array): string {
  const out = ['timestamp,value,anomaly_score,label'];
  for (let i = 0; i < s.ts.length; i++) {
    const t = s.ts[i]!;
    let label = 0;
    for (const [a, b] of s.windows) if (t >= a && t <= b) label = 1;
    out.push(`${s.tsText[i]},${s.valueText[i]},${scores[i]},${label}`);
  }
  return out.join('\n') + '\n';
}

/**
 * `fieldline-cloud evaluate <data-dir> --labels <windows.json> --out <dir>`: every
 * `<group>/<name>.csv` runs online through the processor's pipeline with one configuration;
 * `<out>/<group>/<name>.csv` gets `timestamp,value,anomaly_score,label`, and `<out>/summary.json`
 * and `summary.md` compare the alerts with the labelled windows. Output depends only on the
 * inputs, so two runs give byte-identical files.
 */
export function evaluateNab(o: NabOptions): NabRun[] {
  // The config first: a bad key is reported (exit 78) before any input is read.
  const config = loadProcessorConfig(o.config ?? {});
  const labels = readLabels(o.labels);
  const paths = findCsvFiles(o.dataDir);
  if (paths.length === 0) throw new EvaluateInputError(`${o.dataDir}: no .csv files`);
  const runs: { name: string; dir: string; pipeline: PipelineConfig; round: boolean }[] = [{ name: 'fieldline', dir: o.out, pipeline: pipelineConfig(config), round: true }];
  if (o.baseline !== false) {
    registerWindowedGaussian();
    const base = loadProcessorConfig({ windows: config.windows, alerts: config.alerts, detectors: BASELINE_DETECTORS as never });
    // Its scores crowd just below 1, so they are written unrounded (it is never stored in InfluxDB).
    runs.push({ name: 'windowed-gaussian', dir: join(o.out, 'baseline'), pipeline: pipelineConfig(base), round: false });
  }
  const series = paths.map((p) => readSeries(o.dataDir, p, labels.get(p) ?? []));
  const total = series.reduce((n, s) => n + s.ts.length, 0) * runs.length;
  let done = 0;
  const results: NabRun[] = [];
  for (const run of runs) {
    const files: FileSummary[] = [];
    for (const s of series) {
      const parts = s.path.split('/');
      const device = toId(parts.length > 1 ? parts[0]! : 'evaluate');
      const sensor = toId(parts[parts.length - 1]!);
      const base = done;
      const r = runSeries(s, run.pipeline, device, sensor, (rows) => o.progress?.(base + rows, total, s.path), run.round);
      done += s.ts.length;
      const file = join(run.dir, s.path);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, resultsCsv(s, r.scores));
      files.push(summarizeFile(s.path, s.ts, s.windows, r.alerts, r.late));
    }
    const t = totals(files);
    writeFileSync(join(run.dir, 'summary.json'), JSON.stringify({ detector: run.name, totals: t, files }, null, 2) + '\n');
    writeFileSync(join(run.dir, 'summary.md'), markdownTable(run.name, files, t));
    results.push({ name: run.name, files, totals: t });
  }
  return results;
}
