// `npm run demo` as a new user starts it: the whole pipeline comes up, data lands in InfluxDB
// within 30 s, an alert from the greenhouse scenario's injected spike reaches the Node-RED
// webhook, and the shutdown stops every process it started.
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..');

function runDemo(seconds: number): Promise<{ code: number | null; out: string }> {
  return new Promise((done) => {
    const child = spawn('npm', ['run', '-s', 'demo', '--', '--seconds', String(seconds)], { cwd: root, env: { ...process.env, CI: 'true' } });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    child.on('exit', (code) => done({ code, out }));
  });
}

describe('npm run demo', () => {
  it('shows data landing within 30 s, routes an alert through Node-RED, and stops cleanly', async () => {
    const { code, out } = await runDemo(75);
    expect(out).toContain('fieldline demo is running');
    const landed = /first readings landed in InfluxDB after ([\d.]+) s/.exec(out);
    expect(landed, out).not.toBeNull();
    expect(Number(landed![1])).toBeLessThan(30);
    expect(out).toMatch(/webhook from Node-RED: critical firing gh-01\/temp temp-high/);
    expect(out).toContain('all stopped.');
    expect(code).toBe(0);
  }, 180_000);
});
