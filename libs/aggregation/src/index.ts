export { DeserializationError, IncompatibleMergeError, InvalidArgumentError } from './errors';
export { SlidingWindow } from './SlidingWindow';
export type { SlidingWindowOptions, WindowStats } from './SlidingWindow';
export { DDSketch } from './DDSketch';
export type { DDSketchOptions, DDSketchResult } from './DDSketch';
export { SpaceSaving } from './SpaceSaving';
export type { SpaceSavingOptions, TopKItem } from './SpaceSaving';
export { RateCounter } from './RateCounter';
export type { RateCounterOptions, RateResult } from './RateCounter';
export { WindowedQuantiles } from './WindowedQuantiles';
export type { WindowQuantiles, WindowedQuantilesOptions } from './WindowedQuantiles';
export { WindowedTopK } from './WindowedTopK';
export type { WindowedTopKOptions } from './WindowedTopK';
export { StreamingAggregator } from './StreamingAggregator';
export type {
  AggregatorCounters,
  MetricCounts,
  MetricStatsResult,
  RatesResult,
  RecordOutcome,
  SeriesChanges,
  SeriesRef,
  SeriesStats,
  StatsAccuracy,
  StreamingAggregatorOptions,
  TopKAccuracy,
  TopKResult,
} from './StreamingAggregator';
export { EventTimeWatermark } from './EventTimeWatermark';
export type { EventTimeVerdict, EventTimeWatermarkOptions } from './EventTimeWatermark';
export { AGGREGATED_FIELDS, foldEvent, TOPK_DIMENSIONS } from './foldEvent';
export { AggregateView, encodePartitionSnapshot, decodePartitionSnapshot, partitionSnapshotHeader, snapshotKey } from './PartitionSnapshot';
export type { PartitionSnapshot } from './PartitionSnapshot';
export { SnapshotAssembler, SNAPSHOT_CHUNK_BYTES, encodeSnapshotChunks, snapshotChunkKey } from './SnapshotChunks';
export type { ChunkSet, SnapshotAssemblerOptions, SnapshotChunkMessage, SnapshotRound } from './SnapshotChunks';
