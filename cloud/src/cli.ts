#!/usr/bin/env node
// fieldline-cloud <processor|api> --config file.yaml
// CLI conventions (runtime): --help/--version exit 0; 64 usage, 78 config, 69 start failure.
import { packageVersion, runCli, UsageError } from '@fieldline/runtime';

/** Subcommands: each module's `main` gets the arguments after the command's name. */
const COMMANDS: Record<string, () => Promise<{ main(argv: string[]): Promise<number | void> }>> = {
  processor: () => import('./processor/cli.js'),
  api: () => import('./api/cli.js'),
};

const USAGE = `usage: fieldline-cloud processor --config <processor.yaml>
       fieldline-cloud api --config <api.yaml>
       fieldline-cloud --help | --version`;

await runCli({
  name: 'fieldline-cloud',
  version: packageVersion(import.meta.url),
  usage: USAGE,
  async main(argv) {
    const [command, ...rest] = argv;
    const load = command ? COMMANDS[command] : undefined;
    if (!load) throw new UsageError(command ? `unknown command ${JSON.stringify(command)}` : 'a command is required (processor or api)');
    return (await load()).main(rest);
  },
});
