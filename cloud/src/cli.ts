#!/usr/bin/env node
// fieldline-cloud <processor|api> --config file.yaml
// CLI conventions (runtime): --help/--version exit 0; 64 usage, 78 config, 69 start failure.
import { packageVersion, parseCliArgs, runCli, UsageError } from '@fieldline/runtime';

const COMMANDS: Record<string, () => Promise<{ main(configPath: string): Promise<void> }>> = {
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
    const { values } = parseCliArgs({ args: rest, options: { config: { type: 'string', short: 'c' } } });
    if (!values.config) throw new UsageError('--config is required');
    await (await load()).main(values.config);
  },
});
