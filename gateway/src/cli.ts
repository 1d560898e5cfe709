#!/usr/bin/env node
// fieldline-gateway [run] --config <file.yaml>
// fieldline-gateway devices add <id> [--password <p> | --password-stdin | --cert-only] (--registry <file> | --config <file>)
// fieldline-gateway devices list|revoke <id> (--registry <file> | --config <file>)
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { loadGatewayConfig } from './config.js';
import { startGateway } from './gateway.js';
import { addDevice, listDevices, revokeDevice } from './registry.js';

const USAGE = `usage:
  fieldline-gateway [run] --config <file.yaml>
  fieldline-gateway devices add <device-id> [--password <p> | --password-stdin | --cert-only] (--registry <file> | --config <file>)
  fieldline-gateway devices list (--registry <file> | --config <file>)
  fieldline-gateway devices revoke <device-id> (--registry <file> | --config <file>)
`;

function fail(message: string, code = 2): never {
  process.stderr.write(`fieldline-gateway: ${message}\n`);
  process.exit(code);
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

async function devices(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
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
  if (!registry) fail(`--registry or --config is required\n${USAGE}`);
  if (sub === 'list') {
    for (const d of await listDevices(registry)) {
      process.stdout.write(`${d.id}\t${d.auth}\t${d.createdAt}\t${d.revokedAt ? `revoked ${d.revokedAt}` : 'active'}\n`);
    }
    return;
  }
  if (!id) fail(`device id required\n${USAGE}`);
  if (sub === 'revoke') {
    await revokeDevice(registry, id);
    process.stdout.write(`revoked ${id}\n`);
    return;
  }
  if (sub !== 'add') fail(`unknown devices subcommand ${JSON.stringify(sub ?? '')}\n${USAGE}`);
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
  const { values } = parseArgs({ args: argv, options: { config: { type: 'string' } } });
  if (!values.config) fail(`--config is required\n${USAGE}`);
  const gw = await startGateway(loadGatewayConfig(values.config));
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    gw.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

const [cmd, ...rest] = process.argv.slice(2);
try {
  if (cmd === 'devices') await devices(rest);
  else if (cmd === 'run') await run(rest);
  else if (cmd === '--help' || cmd === '-h') process.stdout.write(USAGE);
  else await run(process.argv.slice(2));
} catch (err) {
  fail((err as Error).message, 1);
}
