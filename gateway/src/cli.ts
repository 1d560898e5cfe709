#!/usr/bin/env node
// fieldline-gateway [run] --config <file.yaml>
// fieldline-gateway devices add|list|revoke … (--registry <file> | --config <file>)
// CLI conventions (runtime): --help/--version exit 0; 64 usage, 78 config, 69 start failure.
import { randomBytes } from 'node:crypto';
import { configArg, createLogger, packageVersion, parseCliArgs, runCli, runService, UsageError } from '@fieldline/runtime';
import { loadGatewayConfig } from './config.js';
import { startGateway } from './gateway.js';
import { addDevice, listDevices, revokeDevice } from './registry.js';

const USAGE = `usage:
  fieldline-gateway [run] --config <file.yaml>
  fieldline-gateway devices add <device-id> [--password <p> | --password-stdin | --cert-only] (--registry <file> | --config <file>)
  fieldline-gateway devices list (--registry <file> | --config <file>)
  fieldline-gateway devices revoke <device-id> (--registry <file> | --config <file>)
  fieldline-gateway --help | --version
`;

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

async function devices(argv: string[]): Promise<void> {
  const { values, positionals } = parseCliArgs({
    args: argv,
    allowPositionals: true,
    options: {
      registry: { type: 'string' },
      config: { type: 'string' },
      password: { type: 'string' },
      'password-stdin': { type: 'boolean' },
      'cert-only': { type: 'boolean' },
    },
  });
  const [sub, id] = positionals;
  const registry = values.registry ?? (values.config ? loadGatewayConfig(values.config).auth.registryFile : undefined);
  if (!registry) throw new UsageError('--registry or --config is required');
  if (sub === 'list') {
    for (const d of await listDevices(registry)) {
      process.stdout.write(`${d.id}\t${d.auth}\t${d.createdAt}\t${d.revokedAt ? `revoked ${d.revokedAt}` : 'active'}\n`);
    }
    return;
  }
  if (sub !== 'add' && sub !== 'revoke') throw new UsageError(`unknown devices subcommand ${JSON.stringify(sub ?? '')}`);
  if (!id) throw new UsageError('device id required');
  if (sub === 'revoke') {
    await revokeDevice(registry, id);
    process.stdout.write(`revoked ${id}\n`);
    return;
  }
  if (values['cert-only']) {
    await addDevice(registry, id, null);
    process.stdout.write(`added ${id} (client certificate only)\n`);
    return;
  }
  const given = values['password-stdin'] ? await readStdin() : values.password;
  const password = given ?? randomBytes(18).toString('base64url');
  await addDevice(registry, id, password);
  // A generated password is shown once, here; only its scrypt hash is stored.
  process.stdout.write(given ? `added ${id}\n` : `added ${id}\npassword: ${password}\n`);
}

async function run(argv: string[]): Promise<void> {
  await runService(configArg(argv), {
    service: 'gateway',
    load: loadGatewayConfig,
    logger: (c) => createLogger({ service: 'gateway', level: c.log.level }),
    start: (c, logger) => startGateway(c, { logger }),
  });
}

await runCli({
  name: 'fieldline-gateway',
  version: packageVersion(import.meta.url),
  usage: USAGE,
  async main(argv) {
    const [cmd, ...rest] = argv;
    if (cmd === 'devices') return devices(rest);
    return run(cmd === 'run' ? rest : argv);
  },
});
