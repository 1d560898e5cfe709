/** The fault suite's report: scenario, readings sent, lost, duplicated, altered, time to recover. */
import type { Row } from './suite.js';

const COLUMNS = ['scenario', 'sent', 'lost', 'duplicated', 're-sent bundles', 'altered', 'out of order', 'counted / unread', 'alerts (expected, missing, extra, twice)', 'recovered after', 'result'] as const;

function cells(r: Row): string[] {
  const a = r.alerts;
  return [
    r.scenario,
    String(r.sent),
    String(r.lost),
    String(r.duplicated),
    String(r.rebundled),
    String(r.altered),
    String(r.outOfOrder),
    String(r.tolerated),
    `${a.expected}, ${a.missing}, ${a.unexpected}, ${a.duplicated}`,
    Number.isNaN(r.recoverS) ? '-' : `${r.recoverS.toFixed(1)} s`,
    r.pass ? 'pass' : 'FAIL',
  ];
}

export function textTable(rows: readonly Row[]): string {
  const all = [[...COLUMNS], ...rows.map(cells)];
  const widths = COLUMNS.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  return all.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')).join('\n');
}

export function markdownTable(rows: readonly Row[], meta: { profile: string; seed: number; minutes: number; load: number; cores: number }): string {
  const head = `| ${COLUMNS.join(' | ')} |\n| --- | ${COLUMNS.slice(1).map(() => '---:').join(' | ')} |`;
  const body = rows.map((r) => `| ${cells(r).join(' | ')} |`).join('\n');
  const what = rows.map((r) => `- \`${r.scenario}\`: ${r.title}${r.notes.length ? ` (${r.notes.join('; ')})` : ''}`).join('\n');
  return `# Fault suite report

Written by \`npm run test:faults -- --report\` (profile ${meta.profile}, seed ${meta.seed}, ${meta.minutes.toFixed(1)} min on
a ${meta.cores}-core machine whose 1-minute load average was ${meta.load.toFixed(1)} at the end). Every scenario runs
the pipeline as separate processes (firmware-sim, edge agents, gateway, processor, nats-server,
influxd) under steady load, and the ledger (\`test/ledger/\`) compares what firmware-sim wrote with
InfluxDB and the TELEMETRY, ALERTS and SESSIONS streams. "Counted / unread" are readings missing
that the scenario states: the edge's counted drops (queue full, disk full), or frames written
while no agent was running to read its serial port (kill -9 of the edge). "Re-sent bundles"
are batches TELEMETRY holds twice because a gateway bundle was re-sent cut differently (JetStream's
dedup cannot see them; the processor drops them by batch id), not faults. "Recovered after":
from the fault cleared until every reading sent by then is in InfluxDB.

${head}
${body}

${what}
`;
}
