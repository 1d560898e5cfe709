/**
 * The load, in its own process as a fleet of real devices would be: firmware-sim's fleet mode
 * (`runFleet`, MQTT QoS 1) running one or more runs back to back. Started by fleet.ts with the
 * runs as JSON in argv[2] and the device password in FL_BENCH_PASSWORD (never on the command
 * line). Writes one JSON line per event on stdout: `start` (wall time of the call), `publishing`
 * (wall time of the first publish), `done` (the FleetResult). SIGTERM stops the current run.
 */
import { runFleet, type FleetOptions } from '@fieldline/firmware-sim';

export type FleetRun = Omit<FleetOptions, 'credentials' | 'signal' | 'logger' | 'onStart' | 'mqttOptions'>;

const runs = JSON.parse(process.argv[2] ?? '[]') as FleetRun[];
const password = process.env.FL_BENCH_PASSWORD;
const stop = new AbortController();
process.once('SIGTERM', () => stop.abort());
const emit = (o: Record<string, unknown>): void => void process.stdout.write(`${JSON.stringify(o)}\n`);

for (const [i, run] of runs.entries()) {
  if (stop.signal.aborted) break;
  emit({ event: 'start', i, atMs: Date.now() });
  const result = await runFleet({
    ...run,
    ...(password ? { credentials: (id: string) => ({ username: id, password }) } : {}),
    signal: stop.signal,
    onStart: () => emit({ event: 'publishing', i, atMs: Date.now() }),
  });
  emit({ event: 'done', i, atMs: Date.now(), result });
}
