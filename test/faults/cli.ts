// npm run test:faults [-- --report [file.md]] [--only kill9,clock] [--profile fast|full] [--seed N]
// Runs the fault scenarios on real processes, checks each with the ledger, prints the table and
// exits 1 when any scenario lost, duplicated, altered or reordered anything it did not state.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { cleanupAll } from '@fieldline/harness';
import { SCENARIOS } from './scenarios.js';
import { ROOT } from './stack.js';
import { markdownTable, textTable } from './table.js';
import { runScenario, type Profile, type Row } from './suite.js';

const { values } = parseArgs({
  options: {
    report: { type: 'boolean', default: false },
    out: { type: 'string', default: join(ROOT, 'docs/fault-report.md') },
    only: { type: 'string' },
    profile: { type: 'string', default: 'full' },
    seed: { type: 'string', default: '11' },
  },
});
const profile = values.profile as Profile;
if (profile !== 'fast' && profile !== 'full') throw new Error(`--profile: fast or full, got ${values.profile}`);
const only = values.only?.split(',');
const chosen = SCENARIOS.filter((s) => !only || only.includes(s.name));
if (only && chosen.length !== only.length) throw new Error(`--only: unknown scenario; known: ${SCENARIOS.map((s) => s.name).join(', ')}`);

const t0 = performance.now();
const rows: Row[] = [];
try {
  for (const sc of chosen) {
    const row = await runScenario(sc, profile, Number(values.seed), (l) => console.log(`[${((performance.now() - t0) / 1000).toFixed(0).padStart(4)}s] ${l}`));
    rows.push(row);
    console.log(`${row.pass ? 'PASS' : 'FAIL'} ${row.scenario} (${row.durationS.toFixed(0)} s)`);
    if (!row.pass) for (const p of row.problems) console.log(`  ${p.split('\n').join('\n  ')}`);
  }
} finally {
  cleanupAll();
}
const minutes = (performance.now() - t0) / 60_000;
console.log(`\n${textTable(rows)}\n${rows.filter((r) => r.pass).length}/${rows.length} passed in ${minutes.toFixed(1)} min (profile ${profile}, seed ${values.seed})`);
if (values.report) {
  writeFileSync(values.out!, markdownTable(rows, { profile, seed: Number(values.seed), minutes, load: loadavg()[0]!, cores: cpus().length }));
  console.log(`report written to ${values.out}`);
}
process.exit(rows.every((r) => r.pass) ? 0 : 1);
