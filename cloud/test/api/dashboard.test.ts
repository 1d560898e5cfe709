import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { connect, type NatsConnection } from 'nats';
import { pino } from 'pino';
import { cleanupAll, InfluxServer, NatsServer, tempDir, waitFor } from '@fieldline/harness';
import { loadApiConfig, startApi, type ApiHandle } from '../../src/api/index.js';
import { KEEP_FOREVER } from '../processor/helpers.js';
import { readingLine } from '../../src/influx/points.js';
import { HOUR, MIN, seedLines, TOKEN, writeLines, writeRollups } from './seed.js';

const ARTIFACTS = join(import.meta.dirname, '..', '..', '..', 'artifacts');
// The seeded 6 h end now, so the dashboard's default relative ranges show them.
const t0 = Math.floor(Date.now() / MIN) * MIN - 6 * HOUR;

let influx: InfluxServer;
let nats: NatsServer;
let nc: NatsConnection;
let api: ApiHandle;
let browser: BrowserContext;
let page: Page;

beforeAll(async () => {
  [influx, nats] = await Promise.all([InfluxServer.start(), NatsServer.start()]);
  await influx.createDatabase('fieldline');
  const extra: string[] = [];
  for (let t = t0; t < t0 + 6 * HOUR; t += 60_000) {
    extra.push(readingLine('boiler-7', { sensor: 'pressure', ts: t, value: 2.1 + 0.2 * Math.sin(t / 3e6), unit: 'bar' }, 0));
    extra.push(readingLine('boiler-7', { sensor: 'flow', ts: t, value: 14 + Math.cos(t / 5e6), unit: 'l/min' }, 0));
  }
  await writeLines(influx.url, 'fieldline', [...seedLines(t0), ...extra]);
  await writeRollups(influx.url, 'fieldline', [...seedLines(t0), ...extra]);
  nc = await connect({ servers: nats.url });
  const kv = await nc.jetstream().views.kv('fl_device_status');
  // As the gateway stores it (gateway/src/uplink.ts): the StatusMessage plus source and receivedAt.
  await kv.put('pump-1', JSON.stringify({ v: 1, device: 'pump-1', state: 'online', ts: Date.now(), source: 'status', receivedAt: Date.now() }));
  await kv.put('pump-2', JSON.stringify({ v: 1, device: 'pump-2', state: 'offline', source: 'will', receivedAt: Date.now() }));
  const config = loadApiConfig({
    port: 0,
    ops: { port: 0 },
    influx: { url: influx.url },
    tiers: KEEP_FOREVER,
    nats: { servers: nats.url },
    auth: { tokens: [TOKEN] },
  });
  api = await startApi(config, { logger: pino({ level: 'silent' }) });
  browser = await chromium.launchPersistentContext(tempDir('chromium'), {
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 820 },
  });
  page = browser.pages()[0] ?? (await browser.newPage());
  mkdirSync(ARTIFACTS, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
  await api?.close();
  await nc?.close();
  await Promise.all([influx?.stop(), nats?.stop()]);
  cleanupAll();
});

/**
 * RGBA of the chart canvas at a time (ms), `dy` CSS px below the plot's top edge. Evaluated as a
 * script so it sees the page's top-level `plot` (a lexical global, not a window property).
 */
function pixelAt(ts: number, dy: number): Promise<number[]> {
  return page.evaluate(`(() => {
    const x = Math.round(plot.valToPos(${ts} / 1e3, 'x', true));
    const y = Math.round(plot.bbox.top + ${dy} * devicePixelRatio);
    return [...plot.ctx.getImageData(x, y, 1, 1).data];
  })()`);
}

it('logs in, picks a sensor and shows a chart with an alert band; live alerts arrive over SSE', async () => {
  await page.goto(`${api.url}/#range=6h`);
  await page.locator('#login').waitFor({ state: 'visible' });
  await page.fill('#token', 'not-the-token');
  await page.click('#login-form button[type=submit]');
  await expect.poll(() => page.textContent('#login-error')).toContain('not accepted');
  await page.fill('#token', TOKEN);
  await page.click('#login-form button[type=submit]');
  await page.locator('#login').waitFor({ state: 'hidden' });

  // Device tree with status from the KV bucket.
  await page.locator('.device-name', { hasText: 'boiler-7' }).waitFor();
  expect(await page.locator('.device-name[title=online]').textContent()).toBe('pump-1');
  expect(await page.locator('.device-name[title=offline]').textContent()).toBe('pump-2');

  await page.click('button.sensor[data-device=pump-1][data-sensor=vib]');
  await expect.poll(() => page.textContent('#title')).toBe('pump-1 / vib');
  await page.click('button.sensor[data-device=pump-1][data-sensor=temp]');
  await expect.poll(() => page.textContent('#title')).toBe('pump-1 / temp');
  expect(page.url()).toContain('device=pump-1&sensor=temp');
  await page.locator('#chart canvas').waitFor();
  await page.locator('#alerts .badge.critical').waitFor();
  expect(await page.textContent('#alerts')).toContain('resolved');

  // 6 hours come from the raw readings; the API says so and the dashboard shows it.
  await expect.poll(() => page.getAttribute('#bucket', 'data-tier')).toBe('raw');
  expect(await page.textContent('#bucket')).toContain('raw readings');

  // The critical alert (02:00-02:20 into the data) is drawn as a red band; before it there is none.
  // Polled: the chart paints on its own frame, which a loaded machine may not have drawn yet.
  // Four columns inside the band, three of which must be red: the x axis's grid lines are drawn
  // over the band, and whether one crosses a given column depends on the minute the test runs
  // (t0 follows the clock). The offsets differ mod 10, 15 and 30 min, so one line hits one column.
  const red = (p: number[]): boolean => p[0]! > 180 && p[1]! < 120;
  const redColumns = async (): Promise<number> => {
    let n = 0;
    for (const m of [4, 9, 13, 17]) if (red(await pixelAt(t0 + 2 * HOUR + m * MIN, 1))) n++;
    return n;
  };
  await expect.poll(redColumns, { timeout: 5000 }).toBeGreaterThanOrEqual(3);
  const outside = await pixelAt(t0 + HOUR, 1);
  expect(outside[0]! - outside[1]!).toBeLessThan(40);

  // Live: an alert published on NATS shows up without a reload.
  await page.locator('#live.on').waitFor();
  const start = t0 + 5 * HOUR + 30 * MIN;
  nc.publish(
    'fl.alerts.info.pump-1',
    JSON.stringify({ v: 1, id: `pump-1:temp:flatline:${start}`, state: 'firing', severity: 'info', device: 'pump-1', sensor: 'temp', rule: 'flatline', start, ts: start, value: 21, score: 0.7, message: 'sensor looks stuck' }),
  );
  await page.locator('#alerts li', { hasText: 'sensor looks stuck' }).waitFor();
  await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png') });

  // A week and a year come from the rollups: the chart still shows the data, and says which tier.
  await page.click('#ranges button[data-range="7d"]');
  await expect.poll(() => page.getAttribute('#bucket', 'data-tier')).toBe('1m');
  expect(await page.textContent('#bucket')).toContain('1m rollups');
  await page.click('#ranges button[data-range="1y"]');
  await expect.poll(() => page.getAttribute('#bucket', 'data-tier')).toBe('1h');
  expect(Number(/^(\d+) points/.exec((await page.textContent('#bucket'))!)?.[1])).toBeGreaterThan(0);
  await page.click('#ranges button[data-range="6h"]');
  await expect.poll(() => page.getAttribute('#bucket', 'data-tier')).toBe('raw');

  // Readable on a phone: no sideways scrolling, the tree opens from the menu button.
  await page.setViewportSize({ width: 390, height: 844 });
  await waitFor(() => page.evaluate('document.documentElement.scrollWidth <= window.innerWidth'), { what: 'no horizontal overflow' });
  await page.click('#menu');
  await page.locator('#tree.open').waitFor();
  await page.click('button.sensor[data-device=boiler-7][data-sensor=pressure]');
  await expect.poll(() => page.textContent('#title')).toBe('boiler-7 / pressure');
  await page.screenshot({ path: join(ARTIFACTS, 'dashboard-phone.png'), fullPage: true });
});
