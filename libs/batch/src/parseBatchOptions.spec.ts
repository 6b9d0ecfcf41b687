import { BatchInputError } from './errors';
import { parseBatchOptions } from './parseBatchOptions';

describe('parseBatchOptions', () => {
  it('maps REST snake_case fields to typed options with defaults', () => {
    expect(parseBatchOptions('process_batch', {})).toEqual({ operation: 'process_batch', valueKey: 'value' });
    expect(parseBatchOptions('time_window_metrics', { window_minutes: 60, slide_minutes: 15, value_key: 'latency', group_key: 'service', events: [] })).toEqual({
      operation: 'time_window_metrics', windowMinutes: 60, slideMinutes: 15, valueKey: 'latency', groupKey: 'service',
    });
    expect(parseBatchOptions('time_window_metrics', { window_minutes: 0.5, slide_minutes: null })).toEqual({ operation: 'time_window_metrics', windowMinutes: 0.5, valueKey: 'value' });
    // the report's processor defaults the window to 60 minutes, as the published schema says
    expect(parseBatchOptions('time_window_metrics', {})).toEqual({ operation: 'time_window_metrics', windowMinutes: 60, valueKey: 'value' });
    expect(parseBatchOptions('join', { join_key: 'user_id' })).toEqual({ operation: 'join', key: 'user_id', type: 'inner' });
    expect(parseBatchOptions('join', { key: 'user_id', join_type: 'left', within_seconds: 0 })).toEqual({ operation: 'join', key: 'user_id', type: 'left', withinSeconds: 0 });
    expect(parseBatchOptions('detect_anomalies', { threshold_std: 2, group_key: 'host' })).toEqual({ operation: 'detect_anomalies', valueKey: 'value', thresholdStd: 2, groupKey: 'host' });
  });

  it.each([
    ['reduce', {}, 'operation', 'operation must be one of process_batch, time_window_metrics, join, detect_anomalies, got "reduce"'],
    [undefined, {}, 'operation', 'operation must be one of process_batch, time_window_metrics, join, detect_anomalies, got undefined'],
    ['time_window_metrics', { window_minutes: 0 }, 'window_minutes', 'window_minutes must be a positive finite number, got 0'],
    ['time_window_metrics', { window_minutes: -5 }, 'window_minutes', 'window_minutes must be a positive finite number, got -5'],
    ['time_window_metrics', { window_minutes: '60' }, 'window_minutes', 'window_minutes must be a positive finite number, got "60"'],
    ['time_window_metrics', { window_minutes: 1e-9 }, 'window_minutes', 'window_minutes must be a whole number of milliseconds when converted (minutes × 60000), got 1e-9'],
    ['time_window_metrics', { window_minutes: 10, slide_minutes: 20 }, 'slide_minutes', 'slide_minutes must be less than or equal to window_minutes (10), got 20'],
    ['time_window_metrics', { window_minutes: 10, slide_minutes: 0 }, 'slide_minutes', 'slide_minutes must be a positive finite number, got 0'],
    ['time_window_metrics', { window_minutes: 10, slide_minutes: 0.001 }, 'slide_minutes', 'slide_minutes must be at least window_minutes / 1000 (0.01: an event falls in at most 1000 windows), got 0.001'],
    ['time_window_metrics', { window_minutes: 10, value_key: '' }, 'value_key', 'value_key must be a non-empty field name, got ""'],
    ['time_window_metrics', { window_minutes: 10, group_key: 3 }, 'group_key', 'group_key must be a non-empty field name, got 3'],
    ['join', {}, 'join_key', 'join_key is required'],
    ['join', { join_key: 'a', key: 'b' }, 'join_key', 'join_key and key must agree when both are given, got "a" and "b"'],
    ['join', { key: 'a', join_type: 'outer' }, 'join_type', 'join_type must be "inner" or "left", got "outer"'],
    ['join', { key: 'a', within_seconds: -1 }, 'within_seconds', 'within_seconds must be a non-negative finite number, got -1'],
    ['detect_anomalies', {}, 'threshold_std', 'threshold_std is required'],
    ['detect_anomalies', { threshold_std: 0 }, 'threshold_std', 'threshold_std must be a positive finite number, got 0'],
    ['detect_anomalies', { threshold_std: 'high' }, 'threshold_std', 'threshold_std must be a positive finite number, got "high"'],
  ])('operation %p with %p fails on %s', (operation, body, field, message) => {
    let error: unknown;
    try {
      parseBatchOptions(operation, body);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(BatchInputError);
    expect(error).toMatchObject({ field, message, retriable: false, name: 'BatchInputError' });
  });
});
