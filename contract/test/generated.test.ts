import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generate, GENERATED_DIR } from '../scripts/gen.js';
import * as contract from '../src/index.js';
import * as source from '../src/schemas.js';

describe('generated schema code (src/generated/, from src/schemas.ts)', () => {
  const fresh = generate();

  it.each(Object.keys(fresh))('%s is what `npm run gen -w contract` writes now (regenerate it after a schema change)', (name) => {
    expect(readFileSync(join(GENERATED_DIR, name), 'utf8')).toBe(fresh[name]);
  });

  it('exports every TypeBox schema as the same plain JSON Schema', () => {
    const names = Object.keys(source).filter((n) => /Schema$/.test(n) && typeof (source as Record<string, unknown>)[n] === 'object');
    expect(names.length).toBeGreaterThan(15);
    for (const name of names) {
      // JSON drops only TypeBox's symbol-keyed markers.
      expect((contract as Record<string, unknown>)[name], name).toEqual(JSON.parse(JSON.stringify((source as Record<string, unknown>)[name])));
    }
  });
});
