// Public API of @pipeline/batch: pure batch analytics over event arrays, with mergeable partials.
export { BatchInputError } from './errors';
export type { SerializedMoments } from './MomentsTable';
export type { GroupKey } from './GroupKey';

export { processBatch } from './processBatch';
export { BatchSummary } from './BatchSummary';
export type { BatchSummaryResult, SerializedBatchSummary } from './BatchSummary';

export { timeWindowMetrics } from './timeWindowMetrics';
export { WindowMetricsPartial } from './WindowMetricsPartial';
export type { TimeWindowOptions, WindowMetric, SerializedWindowMetrics } from './WindowMetricsPartial';

export { joinStreams } from './joinStreams';
export type { JoinOptions, JoinRow, JoinType } from './joinStreams';

export { detectAnomalies } from './detectAnomalies';
export type { AnomalyOptions, AnomalyResult } from './detectAnomalies';
export { AnomalyPartial } from './AnomalyPartial';
export type { AnomalyStats, GroupAnomalyStats, AnomalyStatsOptions, SerializedAnomalyStats } from './AnomalyPartial';
export { scoreAnomalies } from './scoreAnomalies';
export type { Anomaly, ScoreOptions } from './scoreAnomalies';

export { parseBatchOptions } from './parseBatchOptions';
export { readBatchRequest } from './readBatchRequest';
export type { BatchRequest } from './readBatchRequest';
export { compileEventCheck } from './compileEventCheck';
export type { EventCheck } from './compileEventCheck';
export { createBatchRun } from './createBatchRun';
export type { BatchRun } from './createBatchRun';
export { mergeBatchPartials } from './mergeBatchPartials';
export { finishBatch } from './finishBatch';
export { BATCH_OPERATIONS } from './BatchJobOptions';
export type { BatchOperation, BatchJobOptions, SerializedPartial, SerializedJoinRun, SerializedAnomalyRun } from './BatchJobOptions';
