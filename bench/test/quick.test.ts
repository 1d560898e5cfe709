// `npm run bench -- --quick` end to end, as a user runs it after `npm test`'s set-up: every phase on
// real services, the files under --out, and the last line one JSON object. Figures are not judged
// here (a test is no place for speed targets); loss is, since fieldline must lose nothing.
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { cleanupAll, tempDir } from '@fieldline/harness';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

afterAll(cleanupAll);

describe('npm run bench -- --quick', () => {
  it(
    'runs every phase, writes JSON, Markdown and the chart, ends with one JSON line, and loses nothing of fieldline',
    async () => {
      const out = tempDir('bench-quick');
      const { stdout } = await promisify(execFile)('npm', ['run', '--silent', 'bench', '--', '--quick', '--out', out], { cwd: ROOT, timeout: 420_000, maxBuffer: 16 << 20 });
      const files = readdirSync(out);
      for (const ext of ['json', 'md', 'svg']) {
        expect(files).toContain(`latest.${ext}`);
        expect(files.some((f) => f.startsWith('bench-') && f.endsWith(`.${ext}`))).toBe(true);
      }
      const md = readFileSync(join(out, 'latest.md'), 'utf8');
      for (const section of ['End to end', 'Raw limits', 'Open-loop sweep', 'Burst', 'Baseline', 'CPU', 'Edge footprint', 'Targets']) expect(md).toContain(`## ${section}`);
      const last = JSON.parse(stdout.trimEnd().split('\n').at(-1)!) as Record<string, number | string>;
      expect(last.mode).toBe('quick');
      const lost = Object.entries(last).filter(([k]) => k.endsWith('_lost_readings') && !k.startsWith('node_red'));
      expect(lost.map(([k]) => k).sort()).toEqual(['burst_lost_readings', 'e2e_100_lost_readings', 'e2e_10_lost_readings', 'e2e_1_lost_readings', 'sweep_lost_readings']);
      for (const [k, v] of lost) expect([k, v]).toEqual([k, 0]);
      expect(Number(last.targets_met_count) + Number(last.targets_missed_count)).toBeGreaterThan(0);
    },
    480_000,
  );
});
