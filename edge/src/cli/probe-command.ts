/**
 * `fieldline-edge probe PORT [--baud N] [--seconds N] [--unit ID]`: listens to a serial port,
 * says which driver matches and which channels it saw, and prints a `ports:` entry to paste into
 * edge.yaml. A port that stays silent is asked as a Modbus RTU master (slaves only answer polls).
 */
import { createRequire } from 'node:module';
import { basename } from 'node:path';
import type { ModbusRTU as ModbusClient } from 'modbus-serial/ModbusRTU.js';
import { parseCliArgs, UsageError } from '@fieldline/runtime';
import { SerialPort } from 'serialport';
import { Document, isMap, isSeq } from 'yaml';
import { LineFramer } from '../line-framer.js';
import { matchLineDrivers, toId, type LineMatch } from './probe-detect.js';

export const PROBE_USAGE = `usage: fieldline-edge probe PORT [--baud N] [--seconds N] [--unit ID]
  Listens to PORT (e.g. /dev/serial/by-id/usb-…) and reports which driver matches, the channels it
  saw and a ready-to-paste ports: entry. Without --baud it tries ${'9600, 19200, 115200, 4800, 38400, 57600'}.
  A silent port is polled as Modbus RTU (unit ids 1-16, or --unit). Run it while the agent is stopped.`;

const BAUDS = [9600, 19200, 115200, 4800, 38400, 57600];
const MAX_SAMPLE_BYTES = 64 * 1024;

/** The bytes a port sends in `ms`, at `baud`. */
async function listen(path: string, baudRate: number, ms: number): Promise<Buffer> {
  const port = new SerialPort({ path, baudRate, autoOpen: false });
  port.on('error', () => undefined);
  await new Promise<void>((res, rej) => port.open((err) => (err ? rej(new UsageError(`cannot open ${path}: ${err.message}`)) : res())));
  const chunks: Buffer[] = [];
  let size = 0;
  port.on('data', (c: Buffer) => {
    if (size < MAX_SAMPLE_BYTES) chunks.push(c);
    size += c.length;
  });
  await new Promise((r) => setTimeout(r, ms));
  await new Promise<void>((r) => (port.isOpen ? port.close(() => r()) : r()));
  return Buffer.concat(chunks);
}

function linesOf(bytes: Buffer): string[] {
  const lines: string[] = [];
  const framer = new LineFramer(512, (l) => lines.push(l), () => undefined);
  framer.push(bytes);
  return lines;
}

interface ModbusMatch {
  unitId: number;
  fc: 3 | 4;
  registers: Array<{ address: number; value: number }>;
}

/** Polls unit ids for float32 registers 0, 2, 4, … (FC 04, else FC 03) until one is refused. */
async function probeModbus(path: string, baudRate: number, units: number[]): Promise<ModbusMatch | undefined> {
  const Modbus = createRequire(import.meta.url)('modbus-serial') as typeof ModbusClient;
  const client = new Modbus();
  client.on('error', () => undefined);
  await client.connectRTUBuffered(path, { baudRate });
  client.setTimeout(150);
  try {
    for (const unitId of units) {
      client.setID(unitId);
      for (const fc of [4, 3] as const) {
        const read = (addr: number): Promise<{ buffer: Buffer }> => (fc === 4 ? client.readInputRegisters(addr, 2) : client.readHoldingRegisters(addr, 2));
        const registers: ModbusMatch['registers'] = [];
        let answered = false;
        for (let address = 0; address < 64; address += 2) {
          try {
            // A unit that has answered gets a second try: one slow answer (a busy board) must not end the scan.
            const res = await read(address).catch(async (err: unknown) => {
              if (!answered || (err as { modbusCode?: number }).modbusCode !== undefined) throw err;
              await new Promise((r) => setTimeout(r, 100));
              return read(address);
            });
            registers.push({ address, value: res.buffer.readFloatBE(0) });
            answered = true;
          } catch (err) {
            // An exception reply (illegal address/function) means the unit is there; a timeout that it is not.
            if ((err as { modbusCode?: number }).modbusCode !== undefined) answered = true;
            break;
          }
        }
        if (registers.length) return { unitId, fc, registers };
        if (!answered) break; // no such unit: do not try FC 03 on it
      }
    }
    return undefined;
  } finally {
    await new Promise<void>((r) => (client.isOpen ? client.close(() => r()) : r()));
  }
}

function entryYaml(id: string, path: string, baudRate: number, driver: string, options: Record<string, unknown> | undefined, channels: string[]): string {
  const entry: Record<string, unknown> = { id, path, baudRate, driver };
  if (options && Object.keys(options).length) entry.options = options;
  entry.channels = Object.fromEntries(channels.map((c) => [c, { sensor: toId(`${id}-${c}`, c) }]));
  const doc = new Document({ ports: [entry] });
  // One line per channel and register, as in config/example.yaml.
  for (const key of [['channels'], ['options', 'registers']]) {
    const node = doc.getIn(['ports', 0, ...key]);
    if (isMap(node) || isSeq(node)) for (const item of node.items) flowItem(isMap(node) ? (item as { value: unknown }).value : item);
  }
  return doc.toString({ flowCollectionPadding: true });
}

function flowItem(node: unknown): void {
  if (isMap(node)) node.flow = true;
}

function round(v: number): number {
  return Number(v.toPrecision(6));
}

export async function probeCommand(argv: string[], out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const { values, positionals } = parseCliArgs({ args: argv, allowPositionals: true, options: { baud: { type: 'string' }, seconds: { type: 'string' }, unit: { type: 'string' }, help: { type: 'boolean' } } });
  if (values.help) {
    out.write(`${PROBE_USAGE}\n`);
    return 0;
  }
  const path = positionals[0];
  if (!path || positionals.length > 1) throw new UsageError(`probe needs one PORT, got ${positionals.length}`);
  const baud = values.baud === undefined ? undefined : Number(values.baud);
  if (baud !== undefined && !(Number.isInteger(baud) && baud > 0)) throw new UsageError(`--baud must be a positive integer, got ${values.baud}`);
  const seconds = values.seconds === undefined ? (baud ? 3 : 2) : Number(values.seconds);
  if (!(seconds > 0 && seconds <= 600)) throw new UsageError(`--seconds must be in (0, 600], got ${values.seconds}`);
  const unit = values.unit === undefined ? undefined : Number(values.unit);
  if (unit !== undefined && !(Number.isInteger(unit) && unit >= 1 && unit <= 247)) throw new UsageError(`--unit must be a Modbus unit id 1-247, got ${values.unit}`);
  const id = toId(basename(path).replace(/^usb-/, ''), 'port');

  const heard: string[] = [];
  for (const b of baud ? [baud] : BAUDS) {
    out.write(`listening to ${path} at ${b} baud for ${seconds} s …\n`);
    const bytes = await listen(path, b, seconds * 1000);
    const lines = linesOf(bytes);
    const best: LineMatch | undefined = matchLineDrivers(lines)[0];
    if (best && best.parsed * 2 >= best.tried) {
      out.write(
        `driver: ${best.driver} at ${b} baud (${best.parsed} of ${best.tried} lines parsed)\n` +
          `channels: ${best.channels.map(([n, v]) => `${n} (${round(v)})`).join(', ')}\n` +
          (best.boardTime ? 'the board sends its own time in each frame (timestamps: board uses it; set timestamps: edge to use the Pi clock)\n' : '') +
          (best.driver === 'csv' ? 'csv columns have no names: rename col1… to what they measure\n' : '') +
          `\n# paste under ports: in /etc/fieldline/edge.yaml; add unit: to each channel, rename the sensors as you like\n` +
          entryYaml(id, path, b, best.driver, best.options, best.channels.map(([n]) => n)),
      );
      return 0;
    }
    if (bytes.length > 0) {
      heard.push(`${b} baud: ${bytes.length} bytes, ${lines.length} lines, none of them a frame of a known driver`);
      continue;
    }
    const units = unit ? [unit] : Array.from({ length: 16 }, (_, i) => i + 1);
    out.write(`silent at ${b} baud; polling Modbus RTU unit ${units.length === 1 ? units[0] : `ids ${units[0]}-${units.at(-1)}`} …\n`);
    const mb = await probeModbus(path, b, units);
    if (mb) {
      const registers = mb.registers.map((r) => ({ channel: `reg${r.address}`, address: r.address, ...(mb.fc === 3 ? { fc: 3 } : {}) }));
      out.write(
        `driver: modbus at ${b} baud: unit ${mb.unitId} answers FC 0${mb.fc} for ${mb.registers.length} float32 register pair(s)\n` +
          `channels: ${mb.registers.map((r) => `reg${r.address} (${round(r.value)})`).join(', ')}\n` +
          'registers were read as float32 (ABCD); an int16 register reads as nonsense: set type: int16 and divisor for it\n' +
          `\n# paste under ports: in /etc/fieldline/edge.yaml; rename the channels and sensors, add unit: to each\n` +
          entryYaml(id, path, b, 'modbus', { unitId: mb.unitId, registers }, registers.map((r) => r.channel)),
      );
      return 0;
    }
    heard.push(`${b} baud: silent, and no Modbus unit answered`);
  }
  out.write(`no driver matched on ${path}:\n  ${heard.join('\n  ')}\n`);
  return 1;
}
