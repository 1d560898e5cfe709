/**
 * Keys that appear twice in one JSON object of `text` (at any depth), e.g. a log line
 * `{"component":"edge","component":"port"}`. JSON.parse keeps the last one silently, and some
 * JSON log shippers refuse such lines, so a log line must never have one.
 */
export function duplicateKeys(text: string): string[] {
  const dups: string[] = [];
  const stack: { keys: Set<string> | null }[] = [];
  let i = 0;
  const readString = (): string => {
    let out = '';
    i++; // opening quote
    while (i < text.length && text[i] !== '"') {
      if (text[i] === '\\') {
        out += text.slice(i, i + 2);
        i += 2;
      } else out += text[i++];
    }
    i++; // closing quote
    return JSON.parse(`"${out}"`) as string;
  };
  while (i < text.length) {
    const c = text[i]!;
    if (c === '{') {
      stack.push({ keys: new Set() });
      i++;
    } else if (c === '[') {
      stack.push({ keys: null });
      i++;
    } else if (c === '}' || c === ']') {
      stack.pop();
      i++;
    } else if (c === '"') {
      const s = readString();
      const top = stack[stack.length - 1];
      let j = i;
      while (text[j] === ' ' || text[j] === '\n' || text[j] === '\t' || text[j] === '\r') j++;
      if (top?.keys && text[j] === ':') {
        if (top.keys.has(s)) dups.push(s);
        top.keys.add(s);
      }
    } else i++;
  }
  return dups;
}
