import { PipelineError } from '@pipeline/contracts';
import type { SeriesRefusal } from './LiveStatsView';

/** A message of the state topic is not in the format (truncated, unknown version): reading it again fails again. */
export class LiveStateFormatError extends PipelineError {
  constructor(message: string) {
    super('live_state_format', message);
  }
}

/**
 * A partition's committed state could not be read back from the topic (e.g. the broker did not
 * deliver it in time). Retriable: the batch that needed it fails and is redelivered, and the
 * partition never starts empty over a state that exists.
 */
export class StateUnavailableError extends PipelineError {
  constructor(message: string) {
    super('state_unavailable', message, { retriable: true });
  }
}

/**
 * Events refused before they were published because they would be new series the aggregator
 * refuses (`series_limit`, its cap) or that pass their producer's quota (`series_quota`); see
 * `LiveStatsView.seriesRefusal`. HTTP 429: the same request succeeds once idle series expire.
 * `at`: how the answer names the refused event, e.g. `metrics[3]` (empty for a single event).
 * `published`: events of the same request published before it (a stream judged piece by piece);
 * their count and ids join the details when there are any.
 */
export class SeriesRefusedError extends PipelineError {
  constructor(
    readonly refusal: SeriesRefusal,
    at: string,
    published: { accepted: number; ids: readonly string[] } = { accepted: 0, ids: [] },
  ) {
    const { metric, group } = refusal.ref;
    const series = `metric_name ${JSON.stringify(metric)}${group === undefined ? '' : ` with group_by ${JSON.stringify(group)}`}`;
    const why =
      refusal.kind === 'series_limit'
        ? `partition ${refusal.partition} of ${refusal.topic} it maps to holds ${refusal.live} live series of its cap of ${refusal.cap} (AGG_MAX_SERIES shared by the partitions); series already live are still accepted, new ones once idle series expire`
        : `${refusal.principal} has ${refusal.live} live series of its quota of ${refusal.quota} (API_KEY_MAX_SERIES); series it already created are still accepted, new ones once idle ones of its series expire`;
    const tail = published.accepted === 0 ? 'Nothing of this request was published' : `the first ${published.accepted} valid events before it were published`;
    const where = { index: refusal.index, metric_name: metric, ...(group !== undefined && { group_by: group }) };
    const details =
      refusal.kind === 'series_limit'
        ? { ...where, partition: refusal.partition, cap: refusal.cap, live_series: refusal.live }
        : { ...where, principal: refusal.principal, quota: refusal.quota, live_series: refusal.live };
    super(refusal.kind, `${at ? `${at}: ` : ''}${series} would be a new series, and ${why}. ${tail}`, {
      details: published.accepted === 0 ? details : { ...details, accepted: published.accepted, ids: published.ids },
    });
  }
}
