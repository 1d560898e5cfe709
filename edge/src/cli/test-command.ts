/**
 * `fieldline-edge test --config FILE [--seconds N] [--json]`: the `telegraf --test` of the edge.
 * Opens the configured ports with their drivers, reads for N seconds and prints every reading as
 * the gateway would receive it, every channel the config does not map and every bad frame with its
 * reason. No MQTT, no state dir, no queue: a sensor can be checked before there is a cloud.
 */
import type { Reading } from '@fieldline/contract';
import { parseCliArgs, UsageError } from '@fieldline/runtime';
import { SystemClock, Timestamper } from '../clock.js';
import { DEFAULT_CONFIG_PATH, loadEdgeConfig, type PortConfig } from '../config.js';
import { newPortCounters, type PortCounters } from '../counters.js';
import { openPort, type OpenPort } from '../ports.js';
import { mapFrame } from '../readings.js';
import { textLogger } from './text-log.js';

export const TEST_USAGE = `usage: fieldline-edge test [--config FILE] [--seconds N] [--json]
  Reads the configured serial ports for N seconds (default 10) and prints each reading as the
  gateway would receive it (sensor, ts, value, unit, quality), unmapped channels and bad frames
  with the reason. Needs no MQTT. Exit 0 when every port sent at least one good frame, else 1.`;

interface PortTally {
  counters: PortCounters;
  readings: number;
  unmapped: Map<string, number>;
}

function formatReading(port: string, r: Reading, held: boolean): string {
  const value = `${r.value}${r.unit ? ` ${r.unit}` : ''}`;
  const quality = r.quality ?? 'good';
  return `${port}  ${r.sensor} = ${value}  ts=${new Date(r.ts).toISOString()} (${r.ts})  quality=${quality}${held ? '  (held until the clock syncs, then re-timed)' : ''}\n`;
}

export async function testCommand(argv: string[], out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const { values } = parseCliArgs({ args: argv, options: { config: { type: 'string' }, seconds: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean' } } });
  if (values.help) {
    out.write(`${TEST_USAGE}\n`);
    return 0;
  }
  const seconds = values.seconds === undefined ? 10 : Number(values.seconds);
  if (!(seconds > 0 && seconds <= 86_400)) throw new UsageError(`--seconds must be a number of seconds in (0, 86400], got ${values.seconds}`);
  const file = values.config ?? DEFAULT_CONFIG_PATH;
  const config = loadEdgeConfig(file);
  if (config.ports.length === 0) throw new UsageError(`${file} has no ports to test`);
  const log = textLogger(config.log.level === 'debug' || config.log.level === 'trace' ? config.log.level : 'info');
  const clock = new SystemClock(config.clock);
  const stamps = new Timestamper();
  const emit = (record: Record<string, unknown>, text: string): void => void out.write(values.json ? `${JSON.stringify(record)}\n` : text);

  const tallies = new Map<string, PortTally>();
  const ports: OpenPort[] = [];
  out.write(values.json ? '' : `reading ${config.ports.length} port(s) of ${file} for ${seconds} s (no MQTT)\n`);
  config.ports.forEach((p: PortConfig, i) => {
    const tally: PortTally = { counters: newPortCounters(), readings: 0, unmapped: new Map() };
    tallies.set(p.id, tally);
    const portLog = log.child({ port: p.id });
    ports.push(
      openPort(p, tally.counters, portLog, {
        frame: (frame) => {
          const m = mapFrame(p, frame, { wall: clock.now(), synced: clock.synced(), unsynced: config.clock.unsynced }, stamps);
          for (const r of m.readings) {
            tally.readings += 1;
            emit({ port: p.id, reading: { ...r, quality: r.quality ?? 'good' }, held: m.held }, formatReading(p.id, r, m.held));
          }
          for (const [channel, raw] of m.unmapped) {
            tally.unmapped.set(channel, (tally.unmapped.get(channel) ?? 0) + 1);
            emit({ port: p.id, unmapped: channel, raw }, `${p.id}  unmapped channel "${channel}" = ${raw}: not under ports[${i}].channels, so it is counted and not sent\n`);
          }
          for (const [channel, raw] of m.badValues) {
            tally.counters.bad_frames.bad_value = (tally.counters.bad_frames.bad_value ?? 0) + 1;
            emit({ port: p.id, bad: 'bad_value', message: `${channel}: ${raw} scaled is not a finite number` }, `${p.id}  bad value (bad_value): ${channel} = ${raw} scaled is not a finite number\n`);
          }
        },
        bad: (reason, message) => {
          tally.counters.bad_frames[reason] = (tally.counters.bad_frames[reason] ?? 0) + 1;
          emit({ port: p.id, bad: reason, message }, `${p.id}  bad frame (${reason}): ${message}\n`);
        },
      }),
    );
  });

  let interrupted = false;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, seconds * 1000);
    process.once('SIGINT', () => {
      interrupted = true;
      clearTimeout(timer);
      resolve();
    });
  });
  await Promise.all(ports.map((p) => p.close()));

  let silent = 0;
  for (const p of config.ports) {
    const t = tallies.get(p.id)!;
    const bad = Object.entries(t.counters.bad_frames);
    const badTotal = bad.reduce((a, [, n]) => a + (n ?? 0), 0);
    if (t.counters.frames === 0) silent += 1;
    const summary = {
      port: p.id,
      summary: { frames: t.counters.frames, readings: t.readings, bad_frames: Object.fromEntries(bad), unmapped_channels: Object.fromEntries(t.unmapped), reopens: t.counters.reopens },
    };
    const text =
      `${p.id}: ${t.counters.frames} good frame(s), ${t.readings} reading(s), ${badTotal} bad frame(s)` +
      (badTotal ? ` (${bad.map(([r, n]) => `${r} ${n}`).join(', ')})` : '') +
      (t.unmapped.size ? `, unmapped channels: ${[...t.unmapped.keys()].join(', ')}` : '') +
      (t.counters.frames === 0 ? `  <- nothing parsed from ${p.path} at ${p.baudRate} baud (try: fieldline-edge probe ${p.path})` : '') +
      '\n';
    emit(summary, text);
  }
  if (interrupted) out.write(values.json ? '' : 'interrupted\n');
  return silent === 0 ? 0 : 1;
}
