#!/usr/bin/env node
// fieldline-cloud <processor|api> --config file.yaml | fieldline-cloud evaluate …
const [command, ...rest] = process.argv.slice(2);
const commands: Record<string, () => Promise<{ main(argv: string[]): Promise<void> }>> = {
  processor: () => import('./processor/cli.js'),
  api: () => import('./api/cli.js'),
  evaluate: () => import('./evaluate/cli.js'),
};

const load = command ? commands[command] : undefined;
if (!load) {
  process.stderr.write(`usage: fieldline-cloud <processor|api> --config <file.yaml>\n       fieldline-cloud evaluate --help\n`);
  process.exit(command === '--help' || command === '-h' ? 0 : 2);
}
await (await load()).main(rest);
