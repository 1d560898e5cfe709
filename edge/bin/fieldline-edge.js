#!/usr/bin/env node
// The .deb ships the agent as one bundle (src/packaging/bundle.ts); a checkout runs tsc's dist.
import { existsSync } from 'node:fs';

const bundle = new URL('../dist/fieldline-edge.js', import.meta.url);
await import(existsSync(bundle) ? bundle.href : '../dist/cli.js');
