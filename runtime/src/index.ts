// `@fieldline/runtime`: service plumbing written once for every part (the edge bundles it, so it
// stays small: pino, yaml, zod). Process/pty management is `./process`, NATS helpers `./nats`.
export { EXIT, UsageError, exitCodeOf, type ExitCode } from './exit.js';
export { ConfigError, formatIssues, keyPath, loadConfig, logConfigSchema, logLevelSchema, readSecret, readSecretFile, type ConfigContext, type ConfigSource, type LoadConfigOptions } from './config.js';
export { configArg, errorLine, fail, packageVersion, parseCliArgs, runCli, type CliSpec } from './cli.js';
export { runService, StartError, type Closable, type ServiceSpec } from './service.js';
export { settlesWithin } from './deadline.js';
export { backoffDelay, retry, type BackoffOptions, type RetryOptions } from './backoff.js';
export { Health, startOpsServer, type CheckResult, type HealthCheck, type HealthOptions, type HealthReport, type MetricsSource, type OpsServer, type OpsServerOptions } from './ops-server.js';
export { createLogger, LOG_LEVELS, type LoggerOptions, type LogLevel } from './log.js';
