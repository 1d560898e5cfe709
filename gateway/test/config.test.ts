import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cleanupAll, tempDir } from '@fieldline/harness';
import { afterAll, describe, expect, it } from 'vitest';
import { GatewayConfigError, loadGatewayConfig } from '../src/index.js';

afterAll(() => cleanupAll());

function errorOf(fn: () => unknown): GatewayConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(GatewayConfigError);
    return err as GatewayConfigError;
  }
  throw new Error('expected a GatewayConfigError');
}

describe('gateway config', () => {
  it('applies defaults and resolves the registry path against the config file', () => {
    const dir = tempDir('gwcfg');
    const file = join(dir, 'gw.yaml');
    writeFileSync(file, 'auth:\n  registryFile: devices.json\n');
    const cfg = loadGatewayConfig(file);
    expect(cfg.auth.registryFile).toBe(join(dir, 'devices.json'));
    expect(cfg.mqtt.port).toBe(1883);
    expect(cfg.nats.partitions).toBe(8);
    expect(cfg.nats.streams.telemetry.duplicateWindowS).toBe(120);
    expect(cfg.http?.port).toBe(9464);
  });

  it('the shipped sample configs are valid', () => {
    for (const f of ['../config/example.yaml', '../../deploy/gateway/gateway.yaml']) {
      expect(() => loadGatewayConfig(fileURLToPath(new URL(f, import.meta.url))), f).not.toThrow();
    }
  });

  it('names the key path of a wrong type', () => {
    const e = errorOf(() => loadGatewayConfig({ auth: { registryFile: 'x' }, mqtt: { port: 'abc' } } as never));
    expect(e.message).toContain('mqtt.port: expected number, got string');
  });

  it('rejects unknown keys, naming them', () => {
    const e = errorOf(() => loadGatewayConfig({ auth: { registryFile: 'x' }, nats: { streams: { telemetry: { maxAge: 5 } } } } as never));
    expect(e.message).toContain('nats.streams.telemetry.maxAge: unknown key');
  });

  it('names a missing required key and out-of-range values', () => {
    const e = errorOf(() => loadGatewayConfig({ mqtt: { port: 70000 }, nats: { partitions: 0 } } as never));
    expect(e.issues.join('\n')).toMatch(/^auth: is required$/m);
    expect(e.issues.join('\n')).toMatch(/^mqtt\.port: /m);
    expect(e.issues.join('\n')).toMatch(/^nats\.partitions: /m);
  });

  it('reports invalid YAML and a missing file clearly', () => {
    const dir = tempDir('gwcfg');
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'mqtt: [unclosed\n');
    expect(errorOf(() => loadGatewayConfig(bad)).message).toMatch(/is not valid YAML/);
    expect(errorOf(() => loadGatewayConfig(join(dir, 'nope.yaml'))).message).toMatch(/cannot read gateway config/);
  });
});
