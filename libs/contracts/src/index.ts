export type { Accumulator } from './Accumulator';
export { PipelineError, InvalidArgumentError, ContractError, InvalidJsonError } from './errors';
export { EVENT_TOPICS, INTERNAL_TOPICS, COMPACTED_TOPICS, isEventTopic } from './topics';
export { HTTP_PRINCIPAL_HEADER, HTTP_SERIES_QUOTA_HEADER, PRINCIPAL_HEADER } from './principalHeaders';
export type { EventTopic, InternalTopic } from './topics';
export {
  MetricPayloadV1,
  AnalyticsPayloadV1,
  DevicePayloadV1,
  RealityPayloadV1,
  ErrorPayloadV1,
  UserPayloadV1,
  PAYLOAD_SCHEMAS,
  SCHEMA_VERSION,
  EventInputSchema,
  EventEnvelopeSchema,
  AggregateMetricSchema,
  AggregateRequestSchema,
  ErrorResponseSchema,
  IngestResponseSchema,
} from './schemas';
export type {
  MetricPayload,
  AnalyticsPayload,
  DevicePayload,
  RealityPayload,
  ErrorPayload,
  UserPayload,
  PayloadOf,
  EventInput,
  EventEnvelope,
  AggregateMetric,
} from './schemas';
export { normalizeEvent, parseEnvelope, compileValidator, exceedsDepth, MAX_PAYLOAD_DEPTH } from './validateEvent';
export { describeFirstError } from './describeFirstError';
export { EventRecordReader, isIsoOfEpochMs } from './EventRecordReader';
export type { EventRecord } from './EventRecordReader';
export type { NormalizeOptions } from './validateEvent';
export {
  BATCH_TASKS_TOPIC,
  BATCH_JOB_STATUSES,
  BatchSourceSchema,
  BatchProcessRequestSchema,
  BatchProcessBatchSchema,
  BatchTimeWindowSchema,
  BatchJoinSchema,
  BatchDetectAnomaliesSchema,
  BATCH_LIMITS,
  BATCH_OPERATION_NAMES,
  DEFAULT_WINDOW_MINUTES,
  parseBatchRequest,
  BatchJobSchema,
  batchJobKeys,
  parseBatchJobKey,
  isTerminalBatchStatus,
  summarizeBatchJob,
  readBatchInput,
} from './batchSchemas';
export type {
  BatchJobStatus,
  BatchProcessRequest,
  BatchJob,
  BatchSourceRange,
  BatchInput,
  BatchCommand,
  BatchTask,
  BatchJobRecord,
  BatchProgressRecord,
  BatchPartialRecord,
  BatchJobKey,
  BatchOperationName,
} from './batchSchemas';
export type { JobCancelRecord } from './jobCancelRecord';
export { SkippedRecordsSchema, SkippedRecordsTally, mergeSkippedRecords, MAX_SKIPPED_EXAMPLES } from './skippedRecords';
export type { SkippedRecords, RecordPosition } from './skippedRecords';
export { parseDateTime, MAX_EPOCH_MS } from './parseDateTime';
export { describeNonNumeric, readNumericCell } from './numericField';
export { daysFromCivil, daysInMonth } from './daysFromCivil';
export { PRINTABLE_TEXT_PATTERN, PRINTABLE_TEXT_ERROR } from './printableText';
export {
  ML_MODEL_TYPES,
  ML_JOB_STATES,
  MlTrainSourceSchema,
  MlTrainRequestSchema,
  ML_PARAMS_SCHEMAS,
  ML_TRAIN_LIMITS,
  MlPredictRequestSchema,
  MlClusterRequestSchema,
  MlAnomaliesRequestSchema,
  MlJobStatusSchema,
  parseTrainRequest,
  isTerminalMlJobState,
  mlJobKeys,
  parseMlJobKey,
} from './mlSchemas';
export type { MlModelType, MlTrainRequest, MlTrainSource, MlPredictRequest, MlClusterRequest, MlAnomaliesRequest, MlJobCommand, MlJobState, MlJobStatus, MlJobKey } from './mlSchemas';
