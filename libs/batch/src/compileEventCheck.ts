import type { BatchJobOptions } from './BatchJobOptions';
import { BatchInputError, describeValue } from './errors';
import { compileFieldGetter } from './fieldGetter';
import { toGroupKey } from './GroupKey';
import { parseTimestamp } from './parseTimestamp';

/** Checks one event; returns the error the operation would throw on it, or undefined when it can read it. */
export type EventCheck = (event: unknown, index: number) => BatchInputError | undefined;

/**
 * The per-event rules of an operation, compiled once, with the messages its run would throw
 * (`events[12].value must be a finite number, got "abc"`). The gateway refuses inline events with it
 * before a job exists; a source-range task skips the records it refuses instead of failing the job.
 *
 *   process_batch        object, value (absent/null = none, else finite number), timestamp
 *   time_window_metrics  the same, and the group_key value (string, finite number, boolean, absent/null)
 *   detect_anomalies     object, value, group_key value
 *   join                 object, join key value (as a group key), timestamp when within_seconds is set
 */
export function compileEventCheck(options: BatchJobOptions, label = 'events'): EventCheck {
  const getValue = options.operation === 'join' ? null : compileFieldGetter(options.valueKey);
  const valueKey = options.operation === 'join' ? '' : options.valueKey;
  const groupField = options.operation === 'join' ? options.key : options.operation === 'process_batch' ? undefined : options.groupKey;
  const getGroup = groupField === undefined ? null : compileFieldGetter(groupField);
  const needsTime = options.operation === 'process_batch' || options.operation === 'time_window_metrics' || (options.operation === 'join' && options.withinSeconds !== undefined);
  const getTime = needsTime ? compileFieldGetter('timestamp') : null;
  return (value, index) => {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return new BatchInputError(`${label}[${index}]`, `must be an event object, got ${describeValue(value)}`);
    const event = value as Record<string, unknown>;
    if (getValue) {
      const v = getValue(event);
      if (v !== undefined && v !== null && !(typeof v === 'number' && Number.isFinite(v))) return new BatchInputError(`${label}[${index}].${valueKey}`, `must be a finite number, got ${describeValue(v)}`);
    }
    try {
      if (getTime) parseTimestamp(getTime(event), `${label}[${index}].timestamp`);
      if (getGroup) toGroupKey(getGroup(event), `${label}[${index}].${groupField}`);
    } catch (e) {
      if (e instanceof BatchInputError) return e;
      throw e;
    }
    return undefined;
  };
}
