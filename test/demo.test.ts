// `npm run demo` as a new user starts it: the whole pipeline comes up, data lands in InfluxDB
// within 30 s, an alert from the greenhouse scenario's injected spike reaches the Node-RED
// webhook, the dashboard's first view shows the data there is, and Ctrl-C stops every process it
// started without an error in any log; every log line is one JSON object with its service and no
// key twice. Meanwhile Debian's Prometheus scrapes the services the demo started (their metrics
// addresses as it prints them, with deploy/prometheus's config and rules): every target up, a
// fieldline metric queried through its HTTP API, and each /metrics clean under promtool.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { findBinary, PrometheusServer } from '@fieldline/harness';
import { dashboardFirstView } from '../deploy/demo/dashboard-view.js';
import { DEMO_HOME, DemoProcess } from '../deploy/demo/demo-process.js';
import { duplicateKeys } from './json-keys.js';

const artifacts = resolve(import.meta.dirname, '../artifacts');
const promDir = resolve(import.meta.dirname, '../deploy/prometheus');

/** deploy/prometheus/prometheus.yml with each job's target set to where the demo's service listens, scraped every second. */
function scrapeConfigFor(urls: Record<'gateway' | 'processor' | 'api', string>): string {
  const cfg = parseYaml(readFileSync(join(promDir, 'prometheus.yml'), 'utf8')) as { global: Record<string, string>; scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[] };
  cfg.global.scrape_interval = '1s';
  cfg.global.evaluation_interval = '1s';
  for (const job of cfg.scrape_configs) {
    const service = job.job_name.replace(/^fieldline-/, '') as keyof typeof urls;
    job.static_configs = [{ targets: [new URL(urls[service]).host] }];
  }
  return toYaml(cfg);
}

describe('npm run demo', () => {
  it('shows data landing within 30 s, routes an alert through Node-RED, opens the dashboard on the data, and stops cleanly on Ctrl-C', async () => {
    const demo = DemoProcess.start();
    try {
      await demo.waitFor(/fieldline demo is running/, 120_000);
      const metricsUrls = demo.metricsUrls();
      const prometheus = await PrometheusServer.start({ config: scrapeConfigFor(metricsUrls), ruleFiles: [join(promDir, 'fieldline.rules.yml')] });
      const landed = await demo.waitFor(/first readings landed in InfluxDB after ([\d.]+) s/, 60_000);
      expect(Number(landed[1])).toBeLessThan(30);
      await demo.waitFor(/webhook from Node-RED: critical firing gh-01\/temp temp-high/, 120_000);

      // Prometheus: every target up, the rules loaded, fieldline figures through its HTTP API.
      try {
        const targets = await prometheus.waitForTargetsUp(3);
        expect(targets.map((t) => t.labels.job).sort()).toEqual(['fieldline-api', 'fieldline-gateway', 'fieldline-processor']);
        const readings = await prometheus.query('sum(fieldline_processor_readings_total)');
        expect(Number(readings[0]?.value[1])).toBeGreaterThan(0);
        // The edge agents' heartbeats (every 30 s), through the gateway.
        const queues = await prometheus.query('fieldline_edge_queue_max_bytes');
        expect(queues.map((s) => s.metric.device).sort()).toEqual(['gh-01', 'gh-02']);
        const rules = (await (await fetch(`${prometheus.url}/api/v1/rules`)).json()) as { data: { groups: { name: string; rules: unknown[] }[] } };
        expect(rules.data.groups.find((g) => g.name === 'fieldline')?.rules.length).toBeGreaterThanOrEqual(4);
      } finally {
        await prometheus.stop();
      }
      for (const [service, url] of Object.entries(metricsUrls)) {
        const lint = spawnSync(findBinary('promtool', 'prometheus'), ['check', 'metrics'], { input: await (await fetch(url)).text(), encoding: 'utf8' });
        expect(`${lint.stdout}${lint.stderr}`, service).toBe('');
        expect(lint.status, service).toBe(0);
      }

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
