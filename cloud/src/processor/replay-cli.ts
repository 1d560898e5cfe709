import { createLogger, parseCliArgs, StartError, UsageError } from '@fieldline/runtime';
import cliProgress from 'cli-progress';
import { loadProcessorConfig } from './config.js';
import { replay, type StreamPoint } from './replay.js';

/** Shown by `fieldline-cloud replay --help`. */
export const USAGE = `usage: fieldline-cloud replay --config <processor.yaml> --from <time|seq> [--to <time|seq>] --into <database|bucket> [--subjects <prefix>]
  Reprocesses a range of TELEMETRY through the processor's pipeline into a target of its own:
  readings, sessions and alerts into the InfluxDB database (1.x) or bucket (2.x/3.x) <into>, the
  alert and session events onto <prefix>.alerts.{severity}.{device} and <prefix>.sessions.{device}
  (default prefix fl.replay.<into>), stored in the stream REPLAY_<into> (recreated each run). The
  live database, bucket and subjects are never written.
  <time|seq>: a TELEMETRY stream sequence (an integer), or an ISO 8601 time (JetStream store time):
  --from the first message stored at or after it, --to the last at or before it (default: the
  last message when the replay starts). The state starts empty at --from, so from the start of
  the stream the outputs equal what the live processor wrote; run twice, the same bytes.
`;

function point(flag: string, s: string): StreamPoint {
  if (/^\d+$/.test(s)) {
    const seq = Number(s);
    if (!Number.isSafeInteger(seq) || seq < 1) throw new UsageError(`${flag}: a stream sequence is 1 or more, got "${s}"`);
    return { seq };
  }
  const t = Date.parse(s);
  if (!/^\d{4}-\d\d-\d\d/.test(s) || Number.isNaN(t)) throw new UsageError(`${flag}: expected a stream sequence or an ISO 8601 time, got "${s}"`);
  return { time: new Date(t) };
}

/** `fieldline-cloud replay …`: exit 0 done, 64 usage, 78 config, 69 NATS or InfluxDB unavailable. */
export async function main(argv: string[]): Promise<number> {
  const { values: v, positionals } = parseCliArgs({
    args: argv,
    allowPositionals: true,
    options: { config: { type: 'string', short: 'c' }, from: { type: 'string' }, to: { type: 'string' }, into: { type: 'string' }, subjects: { type: 'string' } },
  });
  if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  if (!v.config) throw new UsageError('--config is required');
  if (!v.from) throw new UsageError('--from is required');
  if (!v.into) throw new UsageError('--into is required');
  const from = point('--from', v.from);
  const to = v.to === undefined ? undefined : point('--to', v.to);
  const config = loadProcessorConfig(v.config);
  const logger = createLogger({ service: 'replay', level: config.log.level === 'info' ? 'warn' : config.log.level });
  const bar = process.stderr.isTTY
    ? new cliProgress.SingleBar({ stream: process.stderr, format: 'replay [{bar}] {percentage}% {value}/{total} messages', hideCursor: true, clearOnComplete: true, fps: 10 }, cliProgress.Presets.shades_classic)
    : undefined;
  const t0 = Date.now();
  let r;
  try {
    bar?.start(1, 0);
    r = await replay({
      config,
      from,
      ...(to ? { to } : {}),
      into: v.into,
      ...(v.subjects ? { prefix: v.subjects } : {}),
      progress: (done, total) => {
        bar?.setTotal(total);
        bar?.update(done);
      },
      logger,
    });
  } catch (err) {
    if ((err as { exitCode?: number }).exitCode !== undefined) throw err;
    throw new StartError(`replay failed: ${(err as Error).message}`, { cause: err });
  } finally {
    bar?.stop();
  }
  const rows: [string, string | number][] = [
    ['range', r.messages ? `${r.fromSeq}..${r.toSeq}` : 'empty'],
    ['messages', r.messages],
    ['readings', r.readings],
    ['late readings', r.late],
    ['duplicate batches', r.duplicates],
    ['invalid messages', r.invalid],
    ['alerts', r.alerts],
    ['sessions', r.sessions],
    ['InfluxDB lines', r.lines],
    ['into', `${v.into} (InfluxDB), ${r.subjects} (stream ${r.stream})`],
  ];
  for (const [k, x] of rows) process.stdout.write(`${k.padEnd(18)} ${x}\n`);
  process.stderr.write(`replay: done in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  return 0;
}
