import { ConfigError } from '@pipeline/service-runtime';
import { readAggregatorConfig } from './config';

const read = (env: Record<string, string>) => readAggregatorConfig({ LOG_LEVEL: 'silent', ...env }, { requireBrokers: false });

describe('readAggregatorConfig', () => {
  it('merges window buckets older than the rate window into 5 s blocks by default, 1 = never', () => {
    expect(read({}).coarseBucketSeconds).toBe(5);
    expect(read({ AGG_COARSE_BUCKET_SECONDS: '1' }).coarseBucketSeconds).toBe(1);
    expect(() => read({ AGG_COARSE_BUCKET_SECONDS: '0' })).toThrow(/AGG_COARSE_BUCKET_SECONDS/);
  });

  it('allows events stamped up to 60 s ahead by default (AGG_MAX_FUTURE_SKEW_SECONDS), naming the variable when the value is bad', () => {
    expect(read({}).maxFutureSkewSeconds).toBe(60);
    expect(read({ AGG_MAX_FUTURE_SKEW_SECONDS: '5' }).maxFutureSkewSeconds).toBe(5);
    expect(() => read({ AGG_MAX_FUTURE_SKEW_SECONDS: '-1' })).toThrow(new ConfigError('AGG_MAX_FUTURE_SKEW_SECONDS must be ≥ 0, got -1'));
  });

  it('reads per-metric window overrides and refuses malformed ones', () => {
    expect(read({ AGG_WINDOW_OVERRIDES: 'cpu=60, latency_ms=600' }).windowOverrides).toEqual(new Map([['cpu', 60], ['latency_ms', 600]]));
    expect(read({ AGG_WINDOW_OVERRIDES: '__proto__=30,constructor=90' }).windowOverrides).toEqual(new Map([['__proto__', 30], ['constructor', 90]]));
    expect(() => read({ AGG_WINDOW_OVERRIDES: 'cpu=1.5' })).toThrow(/AGG_WINDOW_OVERRIDES/);
  });
});
