const MAX_TEXT = 24;

const isSpace = (c: number): boolean => c === 32 || c === 10 || c === 13 || c === 9;
const isDigit = (c: number): boolean => c >= 48 && c <= 57;

/**
 * `json[from, to)` is a JSON number without exponent, `-?(0|[1-9]\d*)(\.\d+)?` (line protocol reads
 * it as a float). By hand: the regex cost more than the rest of a value's scan. `json[to]` is never
 * a digit (the value ends before a delimiter or at the end), so reading it is safe.
 */
function plain(json: string, from: number, to: number): boolean {
  let i = from;
  if (json.charCodeAt(i) === 45) i++;
  const lead = json.charCodeAt(i);
  if (lead === 48) i++;
  else if (lead >= 49 && lead <= 57) while (++i < to && isDigit(json.charCodeAt(i)));
  else return false;
  if (i === to) return true;
  if (json.charCodeAt(i) !== 46 || !isDigit(json.charCodeAt(++i))) return false;
  while (++i < to && isDigit(json.charCodeAt(i)));
  return i === to;
}

/**
 * The source text of each reading's `value` in a TELEMETRY payload, in reading order, so its line
 * can reuse the text instead of formatting the float again (the dearest step of a line).
 * JSON.parse read exactly these texts into the values, and InfluxDB parses them to the same
 * doubles (both round correctly), so the stored points are the same; the lines remain a function
 * of the message. An entry is undefined where the text is not a plain decimal (format that value);
 * the result is undefined unless `"value"` keys and readings pair one to one (a duplicate key or a
 * `value` elsewhere, e.g. in `health`, makes the counts differ).
 */
export function valueTexts(json: string, readings: number): (string | undefined)[] | undefined {
  const out: (string | undefined)[] = new Array<string | undefined>(readings);
  let n = 0;
  let at = 0;
  for (;;) {
    // `value"`, then the quote before it: V8 searches with a 7-character pattern such as `"value"`
    // by building a Boyer–Moore–Horspool table per call, ~4× the cost of the plain scan a
    // 6-character one gets (measured on a one-reading message: 244 vs 65 ns for two searches).
    // `at` is where a `"value"` may begin, so its `value"` is searched from one on.
    const k = json.indexOf('value"', at + 1);
    if (k < 0) break;
    if (json.charCodeAt(k - 1) !== 34) {
      at = k + 1;
      continue;
    }
    let i = k + 6;
    at = i;
    while (isSpace(json.charCodeAt(i))) i++;
    // Only a key is followed by ':' (a string value "value" is not).
    if (json.charCodeAt(i) !== 58) continue;
    i++;
    while (isSpace(json.charCodeAt(i))) i++;
    let end = i;
    for (let c = json.charCodeAt(end); end < json.length && c !== 44 && c !== 125 && c !== 93 && !isSpace(c); c = json.charCodeAt(++end));
    if (n === readings) return undefined;
    out[n++] = end - i <= MAX_TEXT && plain(json, i, end) ? json.slice(i, end) : undefined;
  }
  return n === readings ? out : undefined;
}
