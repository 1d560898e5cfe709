// The stream processor: TELEMETRY -> session windows + detectors -> InfluxDB, ALERTS, SESSIONS.
export { loadProcessorConfig, processorConfigSchema, ProcessorConfigError, type ProcessorConfig, type ProcessorConfigInput } from './config.js';
export { startProcessor, type Processor } from './processor.js';
export { PartitionPipeline, Effects, type PipelineConfig } from './pipeline.js';
export { createInfluxWriter, detectInfluxApi, apiForVersion, type InfluxWriter } from '../influx/writer.js';
export { encodePoint, escapeKey, escapeMeasurement, encodeStringField, LineProtocolError, type Point, type FieldValue } from '../influx/line-protocol.js';
export { BatchingSink } from '../sinks/batching-sink.js';
export { SinkWriteError, type LineWriter } from '../sinks/types.js';
