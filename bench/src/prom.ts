/**
 * Reads counters off a service's ops server (`/metrics`, Prometheus text format): the bench polls
 * the gateway's and the processor's own counters for progress and for when a backlog has drained.
 */

/** The sum of every sample of metric `name` (all label sets), 0 when absent. */
export function metricSum(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    // `name 12`, `name{a="b"} 12` (and an optional timestamp), but not `name_other 3`.
    if (rest[0] !== ' ' && rest[0] !== '{') continue;
    const value = rest[0] === '{' ? rest.slice(closingBrace(rest) + 1) : rest;
    const n = Number(value.trim().split(/\s+/)[0]);
    if (Number.isFinite(n)) sum += n;
  }
  return sum;
}

/** Samples of metric `name` summed by the value of one label (`{why="connection_rate"} 3` -> `{ connection_rate: 3 }`). */
export function metricByLabel(text: string, name: string, label: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const end = closingBrace(line.slice(name.length)) + name.length;
    const m = new RegExp(`(?:^|,)${label}="((?:[^"\\\\]|\\\\.)*)"`).exec(line.slice(name.length + 1, end));
    const n = Number(line.slice(end + 1).trim().split(/\s+/)[0]);
    if (m && Number.isFinite(n)) out[m[1]!] = (out[m[1]!] ?? 0) + n;
  }
  return out;
}

/** A histogram's `_sum` and `_count` by the value of one label (`{stage="raw"}` -> `{ raw: { sum, count } }`). */
export function histogramByLabel(text: string, name: string, label: string): Record<string, { sum: number; count: number }> {
  const sums = metricByLabel(text, `${name}_sum`, label);
  const counts = metricByLabel(text, `${name}_count`, label);
  return Object.fromEntries(Object.keys(counts).map((k) => [k, { sum: sums[k] ?? 0, count: counts[k]! }]));
}

/** A histogram's cumulative buckets, summed over every label set (and so over several processes' scrapes joined), by `le` ascending. */
export function histogramBuckets(text: string, name: string): { le: number; count: number }[] {
  const byLe = metricByLabel(text, `${name}_bucket`, 'le');
  return Object.entries(byLe)
    .map(([le, count]) => ({ le: le === '+Inf' ? Infinity : Number(le), count }))
    .filter((b) => !Number.isNaN(b.le))
    .sort((a, b) => a.le - b.le);
}

/**
 * The q-quantile of cumulative buckets as Prometheus's `histogram_quantile` computes it: linear
 * inside the bucket that holds it, and the highest finite bound when it falls in `+Inf`. An
 * estimate: it can only say which bucket, so it is as coarse as the buckets. NaN without samples.
 */
export function bucketQuantile(q: number, buckets: readonly { le: number; count: number }[]): number {
  const total = buckets.at(-1)?.count ?? 0;
  if (!(total > 0)) return NaN;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const b of buckets) {
    if (b.count >= rank) {
      if (b.le === Infinity) return prevLe;
      return prevLe + (b.le - prevLe) * ((rank - prevCount) / Math.max(1e-12, b.count - prevCount));
    }
    prevLe = b.le;
    prevCount = b.count;
  }
  return prevLe;
}

/** Index of the `}` that closes the label set at the start of `s` (label values may contain braces). */
function closingBrace(s: string): number {
  let quoted = false;
  for (let i = 1; i < s.length; i++) {
    const c = s[i];
    if (c === '\\' && quoted) i++;
    else if (c === '"') quoted = !quoted;
    else if (c === '}' && !quoted) return i;
  }
  return s.length;
}

/** Fetches `/metrics` from an ops server. */
export async function scrape(opsUrl: string): Promise<string> {
  const res = await fetch(`${opsUrl}/metrics`, { signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`${opsUrl}/metrics answered ${res.status}`);
  return res.text();
}
