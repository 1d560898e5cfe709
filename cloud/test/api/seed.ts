/** Test data written as line protocol per docs/influxdb-schema.md (the processor's format). */
export const T0 = Date.parse('2026-01-01T00:00:00Z');
export const MIN = 60_000;
export const HOUR = 3_600_000;
export const TOKEN = 'test-token-0123456789abcdef';

/** 6 h from `T0` of `pump-1/temp` and `pump-1/vib` every 10 s, a little of `pump-2/temp`, two alerts, two sessions. */
export function seedLines(t0 = T0): string[] {
  const T0 = t0;
  const lines: string[] = [];
  for (let t = T0; t < T0 + 6 * HOUR; t += 10_000) {
    const k = (t - T0) / HOUR;
    const spike = t >= T0 + 2 * HOUR && t < T0 + 2 * HOUR + 20 * MIN ? 9 : 0;
    const temp = 21 + 2 * Math.sin(k * 1.7) + 0.3 * Math.sin(k * 37) + spike;
    lines.push(`readings,device=pump-1,sensor=temp value=${temp.toFixed(3)},score=${spike ? 0.97 : 0.05},quality="good",unit="C" ${t}`);
    lines.push(`readings,device=pump-1,sensor=vib value=${(0.4 + 0.1 * Math.cos(k * 5)).toFixed(4)},score=0.01,quality="good",unit="g" ${t}`);
  }
  for (let t = T0; t < T0 + HOUR; t += 60_000) lines.push(`readings,device=pump-2,sensor=temp value=${18 + (t - T0) / HOUR},score=0 ${t}`);
  const a1 = { start: T0 + 2 * HOUR, end: T0 + 2 * HOUR + 20 * MIN };
  const id1 = `pump-1:temp:zscore:${a1.start}`;
  lines.push(`alerts,device=pump-1,sensor=temp,rule=zscore,severity=critical id="${id1}",state="firing",start=${a1.start}i,value=30.1,score=0.97,message="temp spike" ${a1.start}`);
  lines.push(`alerts,device=pump-1,sensor=temp,rule=zscore,severity=critical id="${id1}",state="resolved",start=${a1.start}i,end=${a1.end}i,value=22.4,score=0.2,message="temp back to normal" ${a1.end}`);
  const a2 = T0 + 5 * HOUR;
  lines.push(`alerts,device=pump-1,sensor=temp,rule=drift,severity=warning id="pump-1:temp:drift:${a2}",state="firing",start=${a2}i,value=23.9,score=0.81,message="slow drift" ${a2}`);
  const session = (start: number, end: number, closedBy: string): string =>
    `sessions,device=pump-1,sensor=temp end=${end}i,count=${(end - start) / 10_000}i,min=19.1,max=30.2,mean=21.4,stddev=1.2,anomalies=3i,closed_by="${closedBy}" ${start}`;
  lines.push(session(T0, T0 + 3 * HOUR, 'max_length'), session(T0 + 3 * HOUR + 10 * MIN, T0 + 6 * HOUR, 'gap'));
  return lines;
}

/** Writes line protocol (ms precision) through the v1 `/write` endpoint, in chunks. */
export async function writeLines(influxUrl: string, db: string, lines: string[]): Promise<void> {
  for (let i = 0; i < lines.length; i += 5000) {
    const res = await fetch(`${influxUrl}/write?db=${encodeURIComponent(db)}&precision=ms`, {
      method: 'POST',
      body: lines.slice(i, i + 5000).join('\n'),
    });
    if (res.status !== 204) throw new Error(`write failed: ${res.status} ${await res.text()}`);
  }
}
