import type { Reading } from '@fieldline/contract';

/**
 * Distinct sensors per device (`limits.maxSensorsPerDevice`): each new sensor id becomes an
 * InfluxDB series, a processor state and a row of `/api/v1/devices`, so one envelope must not be
 * able to create thousands. An envelope that would take its device past the limit is refused
 * whole (dead-lettered as `sensor_limit`, the device told) and adds nothing; the sensors a device
 * already has keep working. The sets live in this gateway process: memory is bounded by registered
 * devices × the limit, and a restart forgets them (they fill again from the data).
 */
export class SensorLimit {
  private readonly known = new Map<string, Set<string>>();

  constructor(readonly max: number) {}

  /** Records the envelope's sensors and returns null, or returns why it is refused (recording nothing). */
  admit(device: string, readings: readonly Reading[]): string | null {
    let set = this.known.get(device);
    let fresh: Set<string> | undefined;
    for (const r of readings) {
      if (set?.has(r.sensor) || fresh?.has(r.sensor)) continue;
      (fresh ??= new Set()).add(r.sensor);
    }
    if (!fresh) return null;
    const total = (set?.size ?? 0) + fresh.size;
    if (total > this.max) {
      const some = [...fresh].slice(0, 3).map((s) => `"${s}"`).join(', ');
      return `readings: the envelope would give device "${device}" ${total} distinct sensors; at most ${this.max} are allowed (limits.maxSensorsPerDevice). New here: ${some}${fresh.size > 3 ? ` and ${fresh.size - 3} more` : ''}`;
    }
    if (!set) this.known.set(device, (set = new Set()));
    for (const s of fresh) set.add(s);
    return null;
  }

  /** Distinct sensors recorded for `device`. */
  count(device: string): number {
    return this.known.get(device)?.size ?? 0;
  }
}
