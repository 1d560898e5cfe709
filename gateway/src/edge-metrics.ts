import { Counter, Gauge, type Registry } from 'prom-client';

/**
 * The edge agents' own figures, as `fieldline_edge_*{device}`. An agent has no listener (nothing
 * to scrape on a device behind NAT); its heartbeats carry flat figures (`envelope.health`), and the
 * gateway that authenticated it exposes the latest ones. One series per device that has sent a
 * heartbeat to this gateway: bounded by the device registry (a device can only report as itself).
 * The values are read on each scrape, so a device that stopped sending keeps its last figures and
 * `fieldline_edge_last_heartbeat_timestamp_seconds` tells how old they are.
 */
export class EdgeMetrics {
  private readonly last = new Map<string, { at: number; h: Record<string, number> }>();

  constructor(registry: Registry) {
    const edge = this.last;
    const gauge = (name: string, help: string, key: string): void => {
      new Gauge({
        name,
        help,
        labelNames: ['device'],
        registers: [registry],
        collect() {
          this.reset();
          for (const [device, { h }] of edge) if (typeof h[key] === 'number') this.set({ device }, h[key]);
        },
      });
    };
    gauge('fieldline_edge_queue_readings', 'Readings in the edge agent disk queue (store-and-forward backlog), from its last heartbeat', 'queue_depth');
    gauge('fieldline_edge_queue_bytes', 'Bytes in the edge agent disk queue, from its last heartbeat', 'queue_bytes');
    gauge('fieldline_edge_queue_max_bytes', 'Bound of the edge agent disk queue (queue.maxBytes), from its last heartbeat', 'queue_max_bytes');
    gauge('fieldline_edge_ports_open', 'Serial ports the edge agent has open, from its last heartbeat', 'ports_open');
    gauge('fieldline_edge_clock_synced', '1 when the edge agent clock is synced, from its last heartbeat', 'clock_synced');
    gauge('fieldline_edge_disk_full', '1 while the edge agent disk refuses writes (new readings dropped and counted), from its last heartbeat', 'disk_full');
    new Gauge({
      name: 'fieldline_edge_last_heartbeat_timestamp_seconds',
      help: 'Gateway wall clock when the device last sent a heartbeat (time() minus this is its age)',
      labelNames: ['device'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [device, { at }] of edge) this.set({ device }, at / 1000);
      },
    });
    // The agent counts drops since it first started (its counters live in its state dir); a
    // restart with a fresh state dir starts again at 0, which Prometheus treats as a counter reset.
    new Counter({
      name: 'fieldline_edge_queue_dropped_readings_total',
      help: 'Readings the edge agent dropped: queue full (overflow), disk full (disk_full) or refused by the gateway (rejected), as of its last heartbeat',
      labelNames: ['device', 'why'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [device, { h }] of edge) {
          this.inc({ device, why: 'overflow' }, h.dropped_overflow ?? 0);
          this.inc({ device, why: 'disk_full' }, h.dropped_disk_full ?? 0);
          this.inc({ device, why: 'rejected' }, h.dropped_rejected ?? 0);
        }
      },
    });
  }

  /** Records the figures of a valid envelope from `device` (only heartbeats carry them). */
  heartbeat(device: string, health: Record<string, number> | undefined, now = Date.now()): void {
    if (health) this.last.set(device, { at: now, h: health });
  }
}
