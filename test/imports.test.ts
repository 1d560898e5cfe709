// The import-direction check (CI runs it through npm test and `npm run check:imports`).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importsOf, markdownMap, PACKAGES, ROOT, violations } from './import-rules.js';

describe('where things live: import directions', () => {
  it('no shipped code imports what its package may not', () => {
    expect(violations()).toEqual([]);
  });

  it('sees every kind of import', () => {
    expect(importsOf(join(ROOT, 'cloud/node-red/lib/contract.js'))).toEqual(['../dist/fieldline.cjs']);
    expect(importsOf(join(ROOT, 'cloud/node-red/nodes/fieldline-alerts.js'))).toEqual(['../lib/contract.js', '../lib/alert.js', '../lib/inflight.js']);
    expect(importsOf(join(ROOT, 'cloud/src/cli.ts'))).toEqual(['@fieldline/runtime', './processor/cli.js', './api/cli.js', './evaluate/cli.js', './processor/replay-cli.js']);
  });

  it('docs/architecture.md shows the map as the rules say', () => {
    expect(readFileSync(join(ROOT, 'docs/architecture.md'), 'utf8')).toContain(markdownMap());
    expect(PACKAGES.map((p) => p.dir)).toContain('runtime');
  });
});
