import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage } from 'node:http';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createServer as createTlsServer } from 'node:tls';
import type { Aedes, Client } from 'aedes';
import { createLogger, Health, packageVersion, startOpsServer, type OpsServer } from '@fieldline/runtime';
import type { Logger } from 'pino';
import { createWebSocketStream, WebSocketServer } from 'ws';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { createBroker } from './broker.js';
import { DeviceStatusWriter } from './device-status.js';
import type { GatewayConfig } from './config.js';
import { startDownlink } from './downlink.js';
import { FrameGuard } from './frame-guard.js';
import { GatewayMetrics } from './metrics.js';
import { NatsBridge } from './nats-bridge.js';
import { tellOversize } from './oversize.js';
import { SensorLimit } from './sensor-limit.js';
import { DeviceRegistry } from './registry.js';
import { Uplink } from './uplink.js';

export interface Gateway {
  /** Plain MQTT port (the real one when the config said 0). */
  mqttPort: number;
  /** MQTT over TLS port, when `mqtt.tls` is configured. */
  tlsPort?: number;
  /** MQTT over WebSocket port, when `mqtt.ws` is configured. */
  wsPort?: number;
  /** Ops server port (`/metrics`, `/healthz`, `/readyz`), unless `http: null`. */
  httpPort?: number;
  metrics: GatewayMetrics;
  health: Health;
  /** Stops accepting, closes device sessions (unacked PUBLISHes stay with the devices), then NATS. */
  close(): Promise<void>;
}

export interface StartOptions {
  /** @default runtime's createLogger at `config.log.level` on stdout (`service: gateway`) */
  logger?: Logger;
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** Starts the broker, connects to NATS, sets up streams and opens the listeners. */
export async function startGateway(config: GatewayConfig, opts: StartOptions = {}): Promise<Gateway> {
  const log = opts.logger ?? createLogger({ service: 'gateway', level: config.log.level });
  const metrics = new GatewayMetrics();
  const registry = new DeviceRegistry(config.auth.registryFile);
  await registry.refresh();

  let uplink: Uplink | undefined;
  let writer: DeviceStatusWriter | undefined;
  const statuses = (bridge: NatsBridge): DeviceStatusWriter => (writer ??= new DeviceStatusWriter(bridge, config.nats.statusBucket, config.nats.connectionBucket, metrics));
  const gatewayId = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const { broker, sessions: deviceSessions } = await createBroker({
    gatewayId,
    cfg: config,
    registry,
    metrics,
    log: log.child({ component: 'broker' }),
    uplink: () => {
      if (!uplink) throw new Error('gateway not ready');
      return uplink;
    },
    statuses: () => {
      if (!writer) throw new Error('gateway not ready');
      return writer;
    },
  });
  let bridge: NatsBridge;
  try {
    bridge = await NatsBridge.start(config, metrics, log.child({ component: 'nats' }));
  } catch (err) {
    await new Promise<void>((r) => broker.close(() => r()));
    throw err;
  }
  uplink = new Uplink(broker, bridge, metrics, config.nats.partitions, statuses(bridge), log.child({ component: 'uplink' }), new SensorLimit(config.limits.maxSensorsPerDevice));
  const downlink = startDownlink(bridge.nc, broker, metrics, log.child({ component: 'downlink' }));

  const sockets = new Set<Duplex>();
  const handle = (conn: Duplex, req?: IncomingMessage): void => {
    sockets.add(conn);
    conn.once('close', () => sockets.delete(conn));
    conn.on('error', () => undefined); // aedes reports it; an unhandled socket error must not crash us
    const remote = (conn as Partial<Socket>).remoteAddress ?? req?.socket.remoteAddress;
    let client: Client | undefined;
    FrameGuard.attach(conn, config.mqtt.maximumPacketSize, (why, head) => {
      metrics.clientErrors.inc();
      const device = client ? deviceSessions.get(client)?.device : undefined;
      if (!client || !device || !why.startsWith('packet of')) {
        log.info({ remote, why }, 'connection closed: oversize or malformed packet');
        return;
      }
      // An authenticated device is told why, on its rejected topic, before the close (MQTT 3.1.1
      // has no DISCONNECT from the server, so a notice is the only way to say it).
      metrics.rejected.inc({ reason: 'packet_too_large' });
      return tellOversize(client, device, why, head).then((told) => log.warn({ device, remote, why, told }, 'oversize packet refused; connection closed'));
    });
    client = broker.handle(conn, req);
  };

  const servers: Server[] = [];
  const tcp = createServer(handle);
  tcp.maxConnections = config.mqtt.maxConnections;
  const closeAll = async (): Promise<void> => {
    for (const s of servers) s.close();
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => broker.close(() => r()));
    await bridge.close();
  };
  let mqttPort: number;
  let tlsPort: number | undefined;
  let wsPort: number | undefined;
  let http: OpsServer | undefined;
  const health = new Health({
    service: 'gateway',
    version: packageVersion(import.meta.url),
    checks: {
      nats: () => {
        // A lone message too large for the server NATS reconnected to: held until the deployment is mended (payload-limit.ts).
        const problem = bridge.payloadProblem;
        return { ok: bridge.isConnected && !problem, detail: { pending: bridge.pending, ...(problem ? { problem } : {}) } };
      },
      broker: () => ({ ok: !broker.closed, detail: { devices: broker.connectedClients } }),
    },
  });
  try {
    mqttPort = await listen(tcp, config.mqtt.port, config.mqtt.host);
    servers.push(tcp);
    const t = config.mqtt.tls;
    if (t) {
      const tlsServer = createTlsServer(
        {
          cert: readFileSync(t.certFile),
          key: readFileSync(t.keyFile),
          ...(t.caFile ? { ca: readFileSync(t.caFile), requestCert: true } : {}),
          rejectUnauthorized: t.requireClientCert,
        },
        (conn) => handle(conn),
      );
      tlsServer.maxConnections = config.mqtt.maxConnections;
      tlsServer.on('tlsClientError', () => metrics.clientErrors.inc());
      tlsPort = await listen(tlsServer, t.port, t.host);
      servers.push(tlsServer);
    }
    const w = config.mqtt.ws;
    if (w) {
      const wsHttp = createHttpServer((_req, res) => res.writeHead(426, { upgrade: 'websocket' }).end('MQTT over WebSocket only\n'));
      wsHttp.maxConnections = config.mqtt.maxConnections;
      const wss = new WebSocketServer({ server: wsHttp, path: w.path, maxPayload: config.mqtt.maximumPacketSize });
      wss.on('connection', (socket, req) => handle(createWebSocketStream(socket), req));
      wsPort = await listen(wsHttp, w.port, w.host);
      servers.push(wsHttp);
    }
    if (config.http) http = await startOpsServer({ host: config.http.host, port: config.http.port, health, metrics: metrics.registry });
  } catch (err) {
    await closeAll();
    throw err;
  }

  // Revocations take effect on live sessions too, not only at the next CONNECT.
  const clients = (broker as Aedes & { clients: Record<string, { close(): void }> }).clients;
  const revokeTimer = setInterval(() => {
    registry.refresh().then(
      (changed) => {
        if (!changed) return;
        for (const id of Object.keys(clients)) {
          if (registry.status(id) === 'revoked') {
            log.info({ device: id }, 'device revoked; closing its session');
            clients[id]?.close();
          }
        }
      },
      (err: Error) => log.warn({ err }, 'device registry reload failed'),
    );
  }, 2000);
  revokeTimer.unref();

  health.setState('ready');
  log.info({ mqttPort, tlsPort, wsPort, httpPort: http?.port, registry: config.auth.registryFile }, 'gateway ready');
  let closing: Promise<void> | undefined;
  return {
    mqttPort,
    ...(tlsPort !== undefined ? { tlsPort } : {}),
    ...(wsPort !== undefined ? { wsPort } : {}),
    ...(http ? { httpPort: http.port } : {}),
    metrics,
    health,
    close: () =>
      (closing ??= (async () => {
        health.setState('stopping');
        clearInterval(revokeTimer);
        downlink.unsubscribe();
        if (http) await http.close();
        await closeAll();
        log.info('gateway closed');
      })()),
  };
}
