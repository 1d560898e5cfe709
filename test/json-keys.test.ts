import { describe, expect, it } from 'vitest';
import { duplicateKeys } from './json-keys.js';

describe('duplicate JSON keys (the log-line check of the demo test)', () => {
  it('finds a key repeated in one object, at any depth, and nothing else', () => {
    expect(duplicateKeys('{"component":"edge","component":"port","msg":"x"}')).toEqual(['component']);
    expect(duplicateKeys('{"a":{"b":1,"b":2},"c":[{"d":1},{"d":2}]}')).toEqual(['b']);
    expect(duplicateKeys('{"a":"\\"a\\":","b":"a","x":{"a":1}}')).toEqual([]);
    expect(duplicateKeys('{"level":30,"service":"gateway","component":"nats","msg":"stream created"}')).toEqual([]);
  });
});
