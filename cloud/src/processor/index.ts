// The stream processor: TELEMETRY -> session windows + detectors -> InfluxDB, ALERTS, SESSIONS.
export { loadProcessorConfig, processorConfigSchema, ProcessorConfigError, type ProcessorConfig, type ProcessorConfigInput } from './config.js';
export { startProcessor, type OwnedPartition, type Processor } from './processor.js';
export { PROCESSOR_NODE_FLAGS } from './node-flags.js';
export { PartitionPipeline, Effects, type PipelineConfig } from './pipeline.js';
export { drained, partitionProgress, type PartitionProgress } from './progress.js';
export { assignPartitions, type LeaseValue } from './leases.js';
export type { CommitValue, CheckpointRef } from './checkpoints.js';
export { replay, ReplayTargetError, type ReplayOptions, type ReplayResult, type StreamPoint } from './replay.js';
