import { pingInflux } from './connection.js';

/**
 * Whether InfluxDB answers, for `/healthz`: `/ping` once a second (any HTTP answer below 500 is
 * "reachable"; a refused connection, a timeout or a 5xx is not). The check fails once nothing has
 * answered for `boundMs`, so an outage shows within `boundMs` of its start even on an idle
 * processor, and says why.
 */
export class InfluxWatch {
  private lastOk = performance.now();
  private lastError: string | undefined;
  private readonly timer: NodeJS.Timeout;
  private probing = false;

  constructor(
    private readonly url: string,
    private readonly boundMs: number,
    intervalMs = 1000,
  ) {
    this.timer = setInterval(() => void this.probe(Math.min(intervalMs, boundMs)), intervalMs);
    this.timer.unref();
    void this.probe(Math.min(intervalMs, boundMs));
  }

  private async probe(timeoutMs: number): Promise<void> {
    if (this.probing) return;
    this.probing = true;
    try {
      await pingInflux(this.url, timeoutMs);
      this.lastOk = performance.now();
      this.lastError = undefined;
    } catch (err) {
      this.lastError = (err as Error).message;
    } finally {
      this.probing = false;
    }
  }

  check(): { ok: boolean; detail: unknown } {
    const silentMs = performance.now() - this.lastOk;
    if (silentMs < this.boundMs) return { ok: true, detail: 'reachable' };
    return { ok: false, detail: `InfluxDB unreachable for ${(silentMs / 1000).toFixed(1)} s: ${this.lastError ?? 'no answer to /ping yet'}` };
  }

  close(): void {
    clearInterval(this.timer);
  }
}
