/**
 * The dashboard's first view of a running demo in headless Chromium: log in with the demo's token,
 * let the dashboard open on its own choice of range and sensor, and report what it shows. Used by
 * the demo test (which checks it) and by `npm run screenshot` (which saves the README's image).
 */
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface FirstView {
  /** The range button the dashboard opened on (`5m`, `15m`, `1h`, …). */
  range: string | null;
  title: string;
  /** Points in the chart's series (buckets with a value). */
  points: number;
  /** The "latest" figure with its unit, e.g. `24.31 C`. */
  latest: string;
  /** Sensor values in the device tree, with their units. */
  treeValues: string[];
}

/**
 * Opens `apiUrl` (the dashboard) with `token`, waits for the chart, optionally saves a screenshot.
 * `hash` picks a sensor (`device=gh-01&sensor=temp`); without a range in it the dashboard chooses one.
 */
export async function dashboardFirstView(apiUrl: string, token: string, opts: { screenshot?: string; hash?: string } = {}): Promise<FirstView> {
  const profile = mkdtempSync(join(tmpdir(), 'fieldline-chromium-'));
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 820 },
  });
  try {
    const page = browser.pages()[0] ?? (await browser.newPage());
    await page.goto(`${apiUrl.replace(/\/$/, '')}/${opts.hash ? `#${opts.hash}` : ''}`);
    await page.locator('#login').waitFor({ state: 'visible' });
    await page.fill('#token', token);
    await page.click('#login-form button[type=submit]');
    await page.locator('#login').waitFor({ state: 'hidden' });
    await page.locator('#chart canvas').waitFor();
    // The page's `plot` and `state` are lexical globals of its script, so read them in a script.
    const view = (await page.evaluate(`(() => ({
      range: document.querySelector('#ranges button[aria-pressed=true]')?.dataset.range ?? null,
      title: document.getElementById('title').textContent,
      points: state.series.mean.filter((v) => v !== null).length,
      latest: document.querySelector('#stats .stat b').textContent,
      treeValues: [...document.querySelectorAll('#tree .value')].map((e) => e.textContent),
    }))()`)) as FirstView;
    if (opts.screenshot) await page.screenshot({ path: opts.screenshot });
    return view;
  } finally {
    await browser.close();
    rmSync(profile, { recursive: true, force: true });
  }
}
