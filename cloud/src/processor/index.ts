// The stream processor: TELEMETRY -> session windows + detectors -> InfluxDB, ALERTS, SESSIONS.
export { loadProcessorConfig, processorConfigSchema, ProcessorConfigError, type ProcessorConfig, type ProcessorConfigInput } from './config.js';
export { startProcessor, type Processor } from './processor.js';
export { PartitionPipeline, Effects, type PipelineConfig } from './pipeline.js';
