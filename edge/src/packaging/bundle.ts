/**
 * The agent as shipped: one minified ESM file built with esbuild from the TypeScript sources.
 * V8 keeps every module's source text and module records in the heap for the life of the process;
 * one small bundle instead of ~200 library modules saves about 2 MB of the agent's steady RSS
 * (README, "What is measured"). Only what cannot be inlined stays in node_modules.
 */
import { join, resolve } from 'node:path';
import { build } from 'esbuild';

const edgeDir = join(new URL('.', import.meta.url).pathname, '../..');

/**
 * Packages the bundle loads at run time from `node_modules` next to it: serialport's native
 * binding (node-gyp-build finds the prebuild relative to its package dir) and modbus-serial, which
 * the Modbus driver requires lazily (src/drivers/modbus). The contract's validators are generated
 * code (contract/src/generated/): only ajv's small run-time helpers are inlined, not its compiler.
 */
export const RUNTIME_PACKAGES = ['@serialport/bindings-cpp', 'modbus-serial'];

/**
 * Writes the bundle of `src/cli.ts` to `outFile` (which must sit one level below package.json:
 * `--version` reads `../package.json`). Returns the folders of the npm packages inlined into it
 * (for the copyright file).
 */
export async function bundleAgent(outFile: string): Promise<string[]> {
  const result = await build({
    entryPoints: [join(edgeDir, 'src/cli.ts')],
    outfile: outFile,
    bundle: true,
    minify: true,
    platform: 'node',
    format: 'esm',
    // Debian 12 / Raspberry Pi OS bookworm ship nodejs 18.
    target: 'node18',
    conditions: ['fieldline-src'],
    external: RUNTIME_PACKAGES,
    logLevel: 'warning',
    // CommonJS dependencies call require(); an ESM bundle has none of its own.
    banner: { js: "import { createRequire as __flCreateRequire } from 'node:module'; const require = __flCreateRequire(import.meta.url);" },
    metafile: true,
  });
  return inlinedPackages(Object.keys(result.metafile.inputs));
}

/** The package folders (`…/node_modules/name` or `…/node_modules/@scope/name`) that inputs come from. */
export function inlinedPackages(inputs: string[]): string[] {
  const dirs = new Set<string>();
  for (const input of inputs) {
    const m = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input);
    if (m) dirs.add(resolve(m[1]!));
  }
  return [...dirs].sort();
}
