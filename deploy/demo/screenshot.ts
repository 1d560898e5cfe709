/**
 * `npm run screenshot`: the README's dashboard image, from `npm run demo` itself. Starts the demo,
 * waits until the injected temperature spike has fired its alert (about a minute in), opens the
 * dashboard's first view in headless Chromium, saves docs/screenshots/dashboard.png, and stops the
 * demo with Ctrl-C.
 */
import { join, resolve } from 'node:path';
import { dashboardFirstView } from './dashboard-view.js';
import { DemoProcess } from './demo-process.js';

const root = resolve(import.meta.dirname, '../..');
const out = process.argv[2] ?? join(root, 'docs/screenshots/dashboard.png');
const demo = DemoProcess.start(['--no-node-red']);
try {
  await demo.waitFor(/fieldline demo is running/, 120_000);
  await demo.waitFor(/first readings landed in InfluxDB/, 60_000);
  // The spike on gh-01/temp comes 45 s into the scenario; give the chart a little after it.
  await demo.waitFor(/InfluxDB: \d+ readings, \d+ sessions, [1-9]\d* alert transitions/, 120_000);
  await new Promise((r) => setTimeout(r, 15_000));
  const view = await dashboardFirstView(demo.apiUrl(), demo.token(), { screenshot: out, hash: 'device=gh-01&sensor=temp' });
  console.log(`saved ${out}: ${view.title}, range ${view.range}, ${view.points} points, latest ${view.latest}`);
} finally {
  if (!(await demo.interrupt())) console.error(`the demo did not stop cleanly:\n${demo.out}`);
}
