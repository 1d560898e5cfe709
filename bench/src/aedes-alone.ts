/**
 * Raw limit: aedes alone, in its own process, as the gateway embeds it but with nothing behind it
 * (no auth, no JetStream): a QoS 1 PUBLISH is PUBACKed as soon as aedes has it. argv[2] = port.
 */
import { createServer } from 'node:net';
import { Aedes } from 'aedes';

const port = Number(process.argv[2]);
const broker = await Aedes.createBroker();
const server = createServer(broker.handle);
server.listen(port, '127.0.0.1', () => process.stdout.write(`aedes listening on ${port}\n`));
process.once('SIGTERM', () => server.close(() => broker.close(() => process.exit(0))));
