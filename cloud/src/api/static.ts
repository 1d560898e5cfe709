/**
 * The dashboard: plain HTML/CSS/JS from `cloud/dashboard/` plus uPlot's browser build from
 * node_modules (no CDN: deployments may have no internet). Files are read once at start-up.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';

// Same depth from src/api and dist/api.
const DASHBOARD_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dashboard');
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};
const CSP = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

export function registerDashboard(app: FastifyInstance): void {
  const uplotDir = join(dirname(createRequire(import.meta.url).resolve('uplot/package.json')), 'dist');
  const files = new Map<string, { body: Buffer; type: string }>();
  for (const name of readdirSync(DASHBOARD_DIR)) {
    const type = TYPES[extname(name)];
    if (type) files.set(`/${name}`, { body: readFileSync(join(DASHBOARD_DIR, name)), type });
  }
  files.set('/vendor/uPlot.iife.min.js', { body: readFileSync(join(uplotDir, 'uPlot.iife.min.js')), type: TYPES['.js']! });
  files.set('/vendor/uPlot.min.css', { body: readFileSync(join(uplotDir, 'uPlot.min.css')), type: TYPES['.css']! });
  files.set('/', files.get('/index.html')!);

  for (const [path, file] of files) {
    app.get(path, { schema: { hide: true } }, async (_req, reply) => {
      reply
        .header('content-type', file.type)
        .header('cache-control', 'no-cache')
        .header('x-content-type-options', 'nosniff')
        .header('content-security-policy', CSP)
        .header('referrer-policy', 'no-referrer');
      return file.body;
    });
  }
}
