/**
 * The fault scenarios of issue 11 (numbers as there). Scenario 8 (a processor restarted several
 * times with idle partitions: no alert or session published twice) is issue 12's defect, wired in
 * here once both had landed.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sleep, tempDir, waitFor } from '@fieldline/harness';
import type { Stack } from './stack.js';
import { loadScenario, type Ctx, type Outcome, type Profile, type Scenario } from './suite.js';

const byProfile = <T>(ctx: Ctx, v: Record<Profile, T>): T => v[ctx.profile];

/** Waits a random moment in [min, max) ms (seeded). */
const randomMoment = (ctx: Ctx, min: number, max: number): Promise<void> => sleep(min + Math.floor(ctx.random() * (max - min)));

async function healthz(port: number): Promise<{ code: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => null);
  return res ? { code: res.status, body: await res.text() } : { code: 0, body: 'unreachable' };
}

/** 1. kill -9 of each service in turn, at random moments, each restarted. */
const kill9: Scenario = {
  name: 'kill9',
  title: '1. kill -9 of edge, gateway, processor, nats-server, influxd (one at a time, random moments), each restarted',
  fast: true,
  warmupMs: { fast: 4000, full: 10_000 },
  async run(stack, ctx) {
    const order = byProfile(ctx, { fast: ['gateway', 'processor', 'edge-fa'], full: ['edge-fa', 'gateway', 'processor', 'nats-server', 'influxd', 'edge-fb'] });
    const unobservable: { device: string; from: number; to: number }[] = [];
    const notes: string[] = [];
    for (const name of order) {
      await randomMoment(ctx, byProfile(ctx, { fast: 1000, full: 3000 }), byProfile(ctx, { fast: 4000, full: 12_000 }));
      const killed = Date.now();
      await stack.kill9AndRestart(name);
      const back = Date.now();
      notes.push(`${name} down ${((back - killed) / 1000).toFixed(1)} s`);
      ctx.log(`  kill -9 ${name}: back after ${((back - killed) / 1000).toFixed(1)} s`);
      // Nobody reads a serial port while its agent is dead: frames written then are lost as on
      // real hardware (the UART has no reader). Only those, padded by a second each side.
      if (name.startsWith('edge-')) unobservable.push({ device: name.slice(5), from: ctx.boardTime(killed) - 1000, to: ctx.boardTime(back) + 1000 });
    }
    return { clearedAt: Date.now(), ledger: { unobservable }, notes };
  },
};

/** 2. The edge offline for minutes, then back: the backlog drains in order. */
const edgeOffline: Scenario = {
  name: 'edge-offline',
  title: '2. edge offline (network gone) for minutes, then back: the backlog drains in order',
  fast: false,
  spec: { proxy: true },
  warmupMs: { fast: 3000, full: 5000 },
  async run(stack, ctx) {
    stack.proxy!.set('offline');
    await sleep(byProfile(ctx, { fast: 20_000, full: 120_000 }));
    stack.proxy!.set('pass');
    return { clearedAt: Date.now(), notes: [`offline ${byProfile(ctx, { fast: 20, full: 120 })} s`] };
  },
};

/** 3. InfluxDB down for a minute: processors hold, retry and catch up; /healthz says so within 5 s. */
const influxDown: Scenario = {
  name: 'influx-down',
  title: '3. InfluxDB down for a minute: the processor holds its acks, retries, catches up',
  fast: true,
  warmupMs: { fast: 3000, full: 5000 },
  async run(stack, ctx) {
    const checks: string[] = [];
    await stack.influx.stop();
    const down = Date.now();
    let unhealthyAfter = NaN;
    const outage = byProfile(ctx, { fast: 12_000, full: 60_000 });
    while (Date.now() - down < outage) {
      const h = await healthz(stack.processorPort);
      if (Number.isNaN(unhealthyAfter) && h.code === 503 && /InfluxDB unreachable|effects not durable/.test(h.body)) unhealthyAfter = Date.now() - down;
      await sleep(200);
    }
    if (!(unhealthyAfter <= 6000)) checks.push(`processor /healthz did not turn 503 naming InfluxDB within 5 s of the outage (${unhealthyAfter} ms)`);
    const lag = await stack.processorMetric('fieldline_processor_lag_messages');
    if (!(lag > 0)) checks.push(`the lag gauge read ${lag} during the outage`);
    await stack.influx.start();
    await waitFor(async () => (await healthz(stack.processorPort)).code === 200, { timeoutMs: 30_000, what: 'processor healthy again' });
    return { clearedAt: Date.now(), checks, notes: [`healthz 503 after ${(unhealthyAfter / 1000).toFixed(1)} s; lag ${lag} messages held`] };
  },
};

/** 4. A processor paused past its lease (SIGSTOP; issue 12 replaced the ack wait by leases and commits), then resumed: no duplicates in the outputs. */
const processorPaused: Scenario = {
  name: 'processor-sigstop',
  title: '4. processor paused (SIGSTOP) past its lease, then resumed: nothing lost, no duplicate outputs',
  fast: true,
  spec: { processor: { coordination: { leaseMs: 2000, renewMs: 500 } } },
  warmupMs: { fast: 4000, full: 8000 },
  async run(stack, ctx) {
    const pid = stack.processor.pid!;
    process.kill(pid, 'SIGSTOP');
    await sleep(byProfile(ctx, { fast: 6000, full: 15_000 }));
    process.kill(pid, 'SIGCONT');
    return { clearedAt: Date.now(), notes: ['lease 2 s'] };
  },
};

/** 5. The edge's disk queue full: drop-oldest, and the counter and status message say exactly how many. */
const queueFull: Scenario = {
  name: 'queue-full',
  title: '5. edge disk queue full (offline past queue.maxBytes): drop-oldest, exactly the counted readings missing',
  fast: false,
  spec: { proxy: true, edge: { queue: { maxBytes: 65_536, segmentBytes: 8192 } } },
  warmupMs: { fast: 3000, full: 4000 },
  async run(stack, ctx) {
    stack.proxy!.set('offline');
    // 20 readings/s per device, ~45 bytes each on disk: 64 KiB holds ~70 s.
    await sleep(byProfile(ctx, { fast: 80_000, full: 95_000 }));
    stack.proxy!.set('pass');
    const back = Date.now();
    const counted: { device: string; dropped: number; inDoubt: number }[] = [];
    await waitFor(async () => (await stack.backlog(40, back)) === '', { timeoutMs: 120_000, intervalMs: 250, what: 'the backlog to drain' });
    const checks: string[] = [];
    for (const d of stack.devices) {
      const h = (await stack.lastHealth(d))!;
      counted.push({ device: d, dropped: h.dropped_overflow ?? 0, inDoubt: h.dropped_overflow_in_doubt ?? 0 });
      if (!(h.dropped_overflow! > 0)) checks.push(`${d}: no overflow drop reported (the queue never filled?)`);
    }
    return { clearedAt: back, ledger: { counted }, checks, notes: counted.map((c) => `${c.device}: ${c.dropped} dropped (${c.inDoubt} in doubt)`) };
  },
};

/** 6. The edge's disk full (a 2 MiB tmpfs, mostly filled): the agent keeps running, reports it, loses only what it reports. */
function diskFull(): Scenario {
  let mount = '';
  return {
    name: 'disk-full',
    title: '6. edge disk full (2 MiB tmpfs): the agent keeps running, reports it, loses only what it reports',
    fast: false,
    spec: {
      proxy: true,
      stateDir: (device) => (device === 'fa' ? join(mount, 'state') : undefined),
    },
    warmupMs: { fast: 3000, full: 4000 },
    async run(stack, ctx) {
      stack.proxy!.set('offline');
      await sleep(byProfile(ctx, { fast: 25_000, full: 40_000 }));
      stack.proxy!.set('pass');
      const back = Date.now();
      await waitFor(async () => (await stack.backlog(40, back)) === '', { timeoutMs: 120_000, intervalMs: 250, what: 'the backlog to drain' });
      const h = (await stack.lastHealth('fa'))!;
      const checks: string[] = [];
      if (!(h.dropped_disk_full! > 0)) checks.push(`fa: no disk-full drop reported (${JSON.stringify(h)})`);
      if (!stack.edges.get('fa')!.running) checks.push('the agent on the full disk exited');
      return { clearedAt: back, ledger: { counted: [{ device: 'fa', dropped: h.dropped_disk_full ?? 0, inDoubt: 0 }] }, checks, notes: [`fa: ${h.dropped_disk_full} readings dropped on a full disk, reported`] };
    },
    // Mounted before the stack starts (the agent's state dir lives on it), unmounted after.
    before(): void {
      mount = tempDir('tmpfs');
      mountTmpfs(mount, '2m');
      // Leave ~16 KiB: offline, the queue (~1 KB/s for this load) meets the full disk within ~15 s.
      writeFileSync(join(mount, 'filler'), Buffer.alloc(2 * 1024 * 1024 - 16 * 1024));
    },
    after(): void {
      if (mount) unmount(mount);
      mount = '';
    },
  };
}

/** A small tmpfs needs root: without it this fails, clearly (it never passes silently). */
export function mountTmpfs(dir: string, size: string): void {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (err) {
    throw new Error(`disk-full scenario: cannot mount a ${size} tmpfs on ${dir} (needs root: run the fault suite as root, as CI does): ${String((err as { stderr?: Buffer }).stderr ?? err)}`, { cause: err });
  }
}

export function unmount(dir: string): void {
  try {
    execFileSync('umount', [dir], { stdio: 'pipe' });
  } catch {
    execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
  }
}

/** 7. Clock trouble: a board booting at 1970, a clock stepped back an hour, a clock far in the future. */
const clocks: Scenario = {
  name: 'clock',
  title: '7. clock trouble: a board at 1970, a clock stepped back an hour, one jumping to 2102',
  fast: true,
  spec: {
    // A finite raw retention (default 30d) makes InfluxDB refuse the 1970 readings as "beyond
    // retention policy": the processor dead-letters them (counted, not lost), but the ledger reads
    // InfluxDB. This scenario is about clocks, so the raw tier keeps everything.
    processor: { tiers: { raw: { retention: 'inf' } } },
    scenario: loadScenario({
      boards: `  - id: fc
    boards:
      - id: kv
        protocol: text-kv
        hz: 10
        timestamps: true
        clock: { bootAt1970: { syncAfter: 6s }, jumpBack: { at: 12s, by: 1h, correctedAfter: 4s }, jumpAhead: { at: 20s, by: 27700d, correctedAfter: 3s } }
        channels:
          - { name: temp, model: temperature, noise: 0.05 }
`,
    }),
  },
  warmupMs: { fast: 0, full: 0 },
  async run(stack, ctx) {
    // The clock faults are in the scenario (board times); run past them, then a little more.
    await sleep(byProfile(ctx, { fast: 28_000, full: 40_000 }));
    const EARLIEST = Date.UTC(2000, 0, 1);
    const FUTURE = Date.now() + 86_400_000;
    return {
      clearedAt: Date.now(),
      ledger: {
        edgeStamps: true,
        mark: (r) => (r.ts < EARLIEST ? { quality: 'uncertain', clock: 'before_earliest' } : r.ts > FUTURE ? { quality: 'uncertain', clock: 'ahead' } : undefined),
      },
      // fc's synced 1970 and its 2100: one clock alert each; nothing else of fa or fb is disturbed.
      alerts: { rules: ['clock'], expected: [
        { device: 'fc', sensor: 'temp', rule: 'clock', from: 0, to: Number.MAX_SAFE_INTEGER },
        { device: 'fc', sensor: 'temp', rule: 'clock', from: 0, to: Number.MAX_SAFE_INTEGER },
      ] },
      notes: ['board fc: 1970 for 6 s, back 1 h at 12 s for 4 s, 2102 at 20 s for 3 s'],
    };
  },
};

/**
 * 8. A processor restarted several times, cleanly and by kill -9, with idle partitions (the load's
 * devices use a few of the 8): no alert or session is published twice (issue 12's defect; its own
 * test is cloud/test/processor/republish.test.ts).
 */
const processorRestarts: Scenario = {
  name: 'processor-restarts',
  title: '8. a processor restarted several times (clean and kill -9) with idle partitions: no alert or session published twice',
  fast: false,
  warmupMs: { fast: 4000, full: 8000 },
  async run(stack, ctx) {
    const rounds = byProfile(ctx, { fast: 2, full: 4 });
    const notes: string[] = [];
    for (let i = 0; i < rounds; i++) {
      await randomMoment(ctx, 3000, 8000);
      if (i % 2 === 0) {
        await stack.processor.stop();
        await stack.processor.start();
        notes.push('clean restart');
      } else {
        await stack.kill9AndRestart('processor');
        notes.push('kill -9');
      }
    }
    return { clearedAt: Date.now(), notes };
  },
};

/** 9. Network trouble between edge and gateway: a proxy that stalls, drops and half-opens connections. */
const network: Scenario = {
  name: 'network',
  title: '9. network trouble edge <-> gateway: stalled, dropped and half-open connections',
  fast: true,
  spec: { proxy: true },
  warmupMs: { fast: 3000, full: 5000 },
  async run(stack, ctx) {
    const p = stack.proxy!;
    const rounds = byProfile(ctx, { fast: 1, full: 4 });
    for (let i = 0; i < rounds; i++) {
      p.set('stall');
      await randomMoment(ctx, 6000, 10_000);
      p.set('pass');
      await randomMoment(ctx, 1000, 3000);
      p.drop();
      await randomMoment(ctx, 1000, 3000);
      p.set('half-open');
      await randomMoment(ctx, 6000, 10_000);
      p.set('pass');
      p.drop();
      await randomMoment(ctx, 1000, 3000);
    }
    return { clearedAt: Date.now(), notes: [`${rounds} round(s) of stall, drop, half-open; ${p.counts.cut} connections cut`] };
  },
};

export const SCENARIOS: Scenario[] = [kill9, edgeOffline, influxDown, processorPaused, queueFull, diskFull(), clocks, processorRestarts, network];
export type { Stack, Outcome };
