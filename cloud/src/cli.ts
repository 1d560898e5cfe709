#!/usr/bin/env node
// fieldline-cloud <processor|api> --config file.yaml | fieldline-cloud evaluate … | fieldline-cloud replay …
// CLI conventions (runtime): --help/--version exit 0; 64 usage, 78 config, 69 start failure.
import { packageVersion, runCli, UsageError } from '@fieldline/runtime';

interface Command {
  /** Gets the arguments after the command's name. */
  main(argv: string[]): Promise<number | void>;
  /** The command's own `--help`, when it has more to say than the line below. */
  USAGE?: string;
}

/** Subcommands, loaded only when named. */
const COMMANDS: Record<string, () => Promise<Command>> = {
  processor: () => import('./processor/cli.js'),
  api: () => import('./api/cli.js'),
  evaluate: () => import('./evaluate/cli.js'),
  replay: () => import('./processor/replay-cli.js'),
};

const USAGE = `usage: fieldline-cloud processor --config <processor.yaml>
       fieldline-cloud api --config <api.yaml>
       fieldline-cloud evaluate <data-dir> --labels <windows.json> --out <dir> | --scenario <name|file>  (see fieldline-cloud evaluate --help)
       fieldline-cloud replay --config <processor.yaml> --from <time|seq> [--to <time|seq>] --into <database|bucket>  (see fieldline-cloud replay --help)
       fieldline-cloud --help | --version`;

const argv = process.argv.slice(2);
const load = argv[0] ? COMMANDS[argv[0]] : undefined;
const command = load ? await load() : undefined;

await runCli(
  {
    name: 'fieldline-cloud',
    version: packageVersion(import.meta.url),
    usage: command?.USAGE ?? USAGE,
    async main([name, ...rest]) {
      if (!command) throw new UsageError(name ? `unknown command ${JSON.stringify(name)}` : 'a command is required (processor, api, evaluate or replay)');
      return command.main(rest);
    },
  },
  argv,
);
