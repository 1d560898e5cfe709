/**
 * Every service the harness starts registers how to stop it here, so that a failing test, an
 * uncaught error or Ctrl-C never leaves a nats-server, influxd or socat behind.
 */
type SyncStop = () => void;

// Processes are stopped before the dirs they use are removed.
const processStops = new Set<SyncStop>();
const dirStops = new Set<SyncStop>();
let installed = false;

function runAll(): void {
  for (const set of [processStops, dirStops]) {
    for (const stop of [...set].reverse()) {
      try {
        stop();
      } catch {
        // best effort at exit: one failure must not keep the others running
      }
    }
    set.clear();
  }
}

function install(): void {
  if (installed) return;
  installed = true;
  process.once('exit', runAll);
  const codes = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 } as const;
  for (const sig of Object.keys(codes) as (keyof typeof codes)[]) {
    process.once(sig, () => {
      // A program with a handler of its own (the demo) stops its services in order and calls
      // cleanupAll() itself; stopping processes and removing their dirs under it here would pull
      // the state dirs from under agents that are still shutting down. The 'exit' hook stays.
      if (process.listenerCount(sig) > 0) return;
      runAll();
      process.exit(codes[sig]);
    });
  }
}

/**
 * Registers a synchronous last-resort stop (kill a child, remove a dir) run at process exit or
 * on a signal. Returns a function that unregisters it, for services stopped normally.
 */
export function onCleanup(stop: SyncStop, kind: 'process' | 'dir' = 'process'): () => void {
  install();
  const set = kind === 'dir' ? dirStops : processStops;
  set.add(stop);
  return () => set.delete(stop);
}

/** Stops everything registered so far (tests call it in `afterAll` as a safety net). */
export function cleanupAll(): void {
  runAll();
}
