// What the demo's processor config (deploy/demo/processor.yaml: the default detectors plus one
// temperature limit) raises on the demo's scenario, without starting the demo: the spike its
// limit alert, and the stuck humidity and the CO2 drift one alert each.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { evaluateScenario } from '../cloud/src/evaluate/scenario.js';

const config = fileURLToPath(new URL('../deploy/demo/processor.yaml', import.meta.url));

describe("the demo's detectors on the greenhouse scenario", () => {
  it('raise the temperature-limit alert for the spike, and one alert each for the stuck humidity and the CO2 drift', async () => {
    const r = await evaluateScenario({ scenario: 'greenhouse', durationMs: 12 * 60_000, config });
    const alertsFor = (sensor: string, kind: string): number[] => r.found.filter((f) => f.sensor === sensor && f.kind === kind).map((f) => f.alerts);
    expect(r.missed).toEqual([]);
    expect(r.falseAlerts).toBe(0);
    expect(r.rules.find((x) => x.rule === 'temp-high')).toEqual({ rule: 'temp-high', alerts: 1, falseAlerts: 0 });
    expect(r.rules.find((x) => x.rule === 'stuck')).toEqual({ rule: 'stuck', alerts: 1, falseAlerts: 0 });
    expect(alertsFor('hum', 'stuck')).toEqual([1]);
    expect(alertsFor('co2', 'drift')).toEqual([1]);
    // The spike comes 45 s in, while the anomaly detector still learns the sensor: the limit raises it.
    expect(alertsFor('temp', 'spike')).toEqual([1]);
    expect(r.matched).toBe(r.alerts);
  });
});
