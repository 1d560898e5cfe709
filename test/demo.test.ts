// `npm run demo` as a new user starts it: the whole pipeline comes up, data lands in InfluxDB
// within 30 s, an alert from the greenhouse scenario's injected spike reaches the Node-RED
// webhook, the dashboard's first view shows the data there is, and Ctrl-C stops every process it
// started without an error in any log; every log line is one JSON object with its service and no
// key twice.
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dashboardFirstView } from '../deploy/demo/dashboard-view.js';
import { DEMO_HOME, DemoProcess } from '../deploy/demo/demo-process.js';
import { duplicateKeys } from './json-keys.js';

const artifacts = resolve(import.meta.dirname, '../artifacts');

describe('npm run demo', () => {
  it('shows data landing within 30 s, routes an alert through Node-RED, opens the dashboard on the data, and stops cleanly on Ctrl-C', async () => {
    const demo = DemoProcess.start();
    try {
      await demo.waitFor(/fieldline demo is running/, 120_000);
      const landed = await demo.waitFor(/first readings landed in InfluxDB after ([\d.]+) s/, 60_000);
      expect(Number(landed[1])).toBeLessThan(30);
      await demo.waitFor(/webhook from Node-RED: critical firing gh-01\/temp temp-high/, 120_000);

      // The first view, as a new user sees it: a range that fits the minute or two of data, with units.
      mkdirSync(artifacts, { recursive: true });
      const view = await dashboardFirstView(demo.apiUrl(), demo.token(), { screenshot: join(artifacts, 'demo-first-view.png') });
      expect(['5m', '15m']).toContain(view.range);
      expect(view.title).toMatch(/^gh-01 \/ \w+/);
      // The data is drawn across the chart (a 5 m range of 2 s buckets), not in the last pixel of a day.
      expect(view.points).toBeGreaterThan(20);
      expect(view.latest).toMatch(/^-?[\d.,]+ (C|%|ppm|hPa|W)$/);
      expect(view.treeValues.some((v) => / C$/.test(v))).toBe(true);
      expect(view.treeValues.some((v) => / ppm$/.test(v))).toBe(true);
    } finally {
      expect(await demo.interrupt(), demo.out).toBe(true);
    }
    expect(demo.errorLogLines()).toEqual([]);
    expect(demo.out).not.toMatch(/ERROR|queued batch unreadable/);

    // Every log line of every part is one JSON object with its service, and no key twice.
    const logs = join(DEMO_HOME, 'logs');
    const files = readdirSync(logs).filter((f) => f.endsWith('.log'));
    expect(files.length).toBeGreaterThanOrEqual(5);
    let lines = 0;
    for (const file of files) {
      for (const line of readFileSync(join(logs, file), 'utf8').split('\n').filter(Boolean)) {
        lines++;
        const entry = JSON.parse(line) as { service?: unknown };
        expect(typeof entry.service, `${file}: ${line}`).toBe('string');
        expect(duplicateKeys(line), `${file}: ${line}`).toEqual([]);
      }
    }
    expect(lines).toBeGreaterThan(20);
  }, 300_000);
});
