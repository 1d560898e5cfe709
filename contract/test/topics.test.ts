import { describe, expect, it } from 'vitest';
import { commandsTopic, parseTopic, partitionOf, statusTopic, subjects, telemetryTopic } from '../src/index.js';

describe('topics and subjects', () => {
  it('builds and parses device topics', () => {
    expect(telemetryTopic('d1')).toBe('fl/v1/d1/telemetry');
    expect(statusTopic('d1')).toBe('fl/v1/d1/status');
    expect(commandsTopic('d1')).toBe('fl/v1/d1/commands/#');
    expect(parseTopic('fl/v1/d1/telemetry')).toEqual({ device: 'd1', kind: 'telemetry', rest: [] });
    expect(parseTopic('fl/v1/d1/commands/reboot')).toEqual({ device: 'd1', kind: 'commands', rest: ['reboot'] });
  });

  it.each(['fl/v1/D1/telemetry', 'fl/v1/+/telemetry', 'fl/v1/d1/telemetry/x', 'fl/v2/d1/telemetry', 'fl/v1/d1/other', '$SYS/x', '', 'fl/v1/__proto__/status'])(
    'refuses %j',
    (topic) => expect(parseTopic(topic)).toBeNull(),
  );

  it('partitions stably and evenly', () => {
    expect(partitionOf('dev-1', 8)).toBe(partitionOf('dev-1', 8));
    const counts = new Array(8).fill(0);
    for (let i = 0; i < 8000; i++) counts[partitionOf(`dev-${i}`, 8)]++;
    for (const c of counts) expect(c).toBeGreaterThan(800);
  });

  it('names subjects and never puts an invalid id in one', () => {
    expect(subjects.telemetry(3, 'd1')).toBe('fl.telemetry.3.d1');
    expect(subjects.alerts('critical', 'd1')).toBe('fl.alerts.critical.d1');
    expect(subjects.deadletter('bad_json', 'd1')).toBe('fl.deadletter.bad_json.d1');
    expect(subjects.deadletter('bad_id', 'a.b.>')).toBe('fl.deadletter.bad_id._unknown');
  });
});
