// `npm run demo` as a new user starts it: the whole pipeline comes up, data lands in InfluxDB
// within 30 s, an alert from the greenhouse scenario's injected spike reaches the Node-RED
// webhook, and the shutdown stops every process it started.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { duplicateKeys } from './json-keys.js';

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

    // Every log line of every part is one JSON object with its service, and no key twice.
    const logs = join(root, '.fieldline-demo', 'logs');
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
  }, 180_000);
});
