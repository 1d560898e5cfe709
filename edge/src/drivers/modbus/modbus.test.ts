import { createRequire } from 'node:module';
import { afterAll, describe, expect, it } from 'vitest';
import type { ServerSerial as ServerSerialT } from 'modbus-serial';
import { cleanupAll, PtyPair, waitFor } from '@fieldline/harness';
import { startEdge } from '../../index.js';
import { quietLogger, TestBroker, testConfig } from '../../../test/helpers.js';

afterAll(() => cleanupAll());

const { ServerSerial } = createRequire(import.meta.url)('modbus-serial') as { ServerSerial: typeof ServerSerialT };

/** A Modbus RTU slave on the board side of the pty: float32 at input register 0, int16 at 2. */
function startSlave(path: string, temp: { value: number }): Promise<ServerSerialT> {
  const f = Buffer.alloc(4);
  const vector = {
    getInputRegister: (addr: number): number => {
      f.writeFloatBE(temp.value);
      if (addr === 0) return f.readUInt16BE(0);
      if (addr === 1) return f.readUInt16BE(2);
      if (addr === 2) return 452;
      throw { modbusErrorCode: 0x02, msg: 'illegal data address' };
    },
    // Registers are raw 16-bit words: -17 as two's complement.
    getHoldingRegister: (addr: number): number => (addr === 2 ? 0x10000 - 17 : 0),
  };
  return new Promise((resolve, reject) => {
    const server: ServerSerialT = new ServerSerial(vector, {
      path,
      baudRate: 19200,
      unitID: 7,
      openCallback: (err?: Error | null) => (err ? reject(err) : resolve(server)),
    });
    server.on('error', () => undefined);
  });
}

describe('modbus driver', () => {
  it('polls float32/int16 registers (FC 04 and FC 03), counts exceptions, and recovers after unplug/replug', async () => {
    const broker = await TestBroker.start();
    const pty = await PtyPair.create();
    const temp = { value: 21.5 };
    let slave = await startSlave(pty.devicePath, temp);
    const cfg = testConfig(broker.url, {
      ports: [
        {
          id: 'mb',
          path: pty.hostPath,
          baudRate: 19200,
          driver: 'modbus',
          options: {
            unitId: 7,
            pollMs: 100,
            timeoutMs: 300,
            registers: [
              { channel: 'temp', address: 0 },
              { channel: 'hum', address: 2, type: 'int16', divisor: 10 },
              { channel: 'offset', address: 2, type: 'int16', fc: 3 },
              { channel: 'missing', address: 40 },
            ],
          },
          channels: { temp: { sensor: 'temp', unit: 'C' }, hum: { sensor: 'hum', unit: '%' }, offset: { sensor: 'offset' }, missing: { sensor: 'missing' } },
        },
      ],
    });
    const edge = await startEdge(cfg, { logger: quietLogger() });
    try {
      await waitFor(() => broker.readings().filter((r) => r.sensor === 'temp').length >= 2, { what: 'two polls', timeoutMs: 15_000 });
      const r = broker.readings();
      expect(r.find((x) => x.sensor === 'temp')).toMatchObject({ value: 21.5, unit: 'C' });
      expect(r.find((x) => x.sensor === 'hum')).toMatchObject({ value: 45.2 });
      expect(r.find((x) => x.sensor === 'offset')).toMatchObject({ value: -17 });
      expect(r.some((x) => x.sensor === 'missing')).toBe(false);
      expect(edge.health().ports.mb!.bad_frames.modbus_error).toBeGreaterThanOrEqual(1);

      await new Promise<void>((res) => slave.close(() => res()));
      await pty.unplug();
      await waitFor(() => !edge.health().ports.mb!.open, { what: 'modbus port given up after unplug', timeoutMs: 15_000 });
      await pty.replug();
      slave = await startSlave(pty.devicePath, temp);
      temp.value = 30.25;
      await waitFor(() => broker.readings().some((x) => x.sensor === 'temp' && x.value === 30.25), { what: 'poll after replug', timeoutMs: 20_000 });
    } finally {
      await edge.close();
      await new Promise<void>((res) => slave.close(() => res()));
      await pty.close();
      await broker.close();
    }
  });

  it('survives an error event from the port (EIO on unplug) and keeps polling', async () => {
    // The port error arrives from modbus-serial's ModbusRTU as an 'error' event; caught here on the
    // real client instance the driver created (its open is wrapped to capture it).
    const { prototype } = createRequire(import.meta.url)('modbus-serial') as { prototype: { connectRTUBuffered: (...a: unknown[]) => Promise<void> } };
    const original = prototype.connectRTUBuffered;
    const clients: Array<{ emit(event: string, err: Error): boolean; _port: { emit(event: string, err: Error): boolean } }> = [];
    prototype.connectRTUBuffered = function (this: (typeof clients)[number], ...args: unknown[]) {
      clients.push(this);
      return original.apply(this, args);
    };
    const broker = await TestBroker.start();
    const pty = await PtyPair.create();
    const temp = { value: 12.5 };
    const slave = await startSlave(pty.devicePath, temp);
    const registers = [{ channel: 'temp', address: 0 }];
    const cfg = testConfig(broker.url, { ports: [{ id: 'mb', path: pty.hostPath, baudRate: 19200, driver: 'modbus', options: { unitId: 7, pollMs: 50, registers }, channels: { temp: { sensor: 'temp' } } }] });
    const edge = await startEdge(cfg, { logger: quietLogger() });
    try {
      await waitFor(() => broker.readings().some((x) => x.sensor === 'temp'), { what: 'a first poll', timeoutMs: 15_000 });
      expect(clients.length).toBeGreaterThanOrEqual(1);
      const eio = Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' });
      // Through the buffered port, as serialport reports it: ModbusRTU wraps it in a SerialPortError.
      expect(() => clients.at(-1)!._port.emit('error', eio)).not.toThrow();
      temp.value = 13.5;
      await waitFor(() => broker.readings().some((x) => x.sensor === 'temp' && x.value === 13.5), { what: 'polls after the error', timeoutMs: 15_000 });
    } finally {
      prototype.connectRTUBuffered = original;
      await edge.close();
      await new Promise<void>((res) => slave.close(() => res()));
      await pty.close();
      await broker.close();
    }
  });
});
