/**
 * The agent as shipped: one minified ESM file built with esbuild from the TypeScript sources.
 * V8 keeps every module's source text and module records in the heap for the life of the process;
 * one small bundle instead of ~200 library modules saves about 2 MB of the agent's steady RSS
 * (README, "What is measured"). Only what cannot be inlined stays in node_modules.
 */
import { join } from 'node:path';
import { build } from 'esbuild';

const edgeDir = join(new URL('.', import.meta.url).pathname, '../..');

/**
 * Packages the bundle loads at run time from `node_modules` next to it: serialport's native
 * binding (node-gyp-build finds the prebuild relative to its package dir), modbus-serial, which
 * the Modbus driver requires lazily (src/drivers/modbus), and ajv, which the contract requires on
 * the first message it validates (a rejection notice, rarely).
 */
export const RUNTIME_PACKAGES = ['@serialport/bindings-cpp', 'modbus-serial', 'ajv'];

/** Writes the bundle of `src/cli.ts` to `outFile` (which must sit one level below package.json: `--version` reads `../package.json`). */
export async function bundleAgent(outFile: string): Promise<void> {
  await build({
    entryPoints: [join(edgeDir, 'src/cli.ts')],
    outfile: outFile,
    bundle: true,
    minify: true,
    platform: 'node',
    format: 'esm',
    // The .deb depends on nodejs (>= 18).
    target: 'node18',
    conditions: ['fieldline-src'],
    external: RUNTIME_PACKAGES,
    logLevel: 'warning',
    // CommonJS dependencies call require(); an ESM bundle has none of its own.
    banner: { js: "import { createRequire as __flCreateRequire } from 'node:module'; const require = __flCreateRequire(import.meta.url);" },
  });
}
