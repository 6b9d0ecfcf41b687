import { ConfigError } from '@pipeline/service-runtime';
import { readGatewayConfig } from './config';

describe('readGatewayConfig: PREDICTOR_GRPC_ADDR', () => {
  const read = (PREDICTOR_GRPC_ADDR?: string) => readGatewayConfig({ PREDICTOR_GRPC_ADDR }, { requireBrokers: false });

  it('accepts host:port with a name, an IPv4 or a bracketed IPv6 host, and defaults to 127.0.0.1:50051', () => {
    expect(read().predictorAddress).toBe('127.0.0.1:50051');
    expect(read('ml-predictor:50051').predictorAddress).toBe('ml-predictor:50051');
    expect(read('10.0.0.7:9000').predictorAddress).toBe('10.0.0.7:9000');
    expect(read('[::1]:50051').predictorAddress).toBe('[::1]:50051');
  });

  it('rejects a scheme, a missing port or a port out of range, naming the variable', () => {
    for (const bad of ['dns:///ml-predictor:50051', 'http://ml-predictor:50051', 'ml-predictor', 'ml-predictor:0', 'ml-predictor:70000']) {
      expect(() => read(bad)).toThrow(ConfigError);
      expect(() => read(bad)).toThrow(/PREDICTOR_GRPC_ADDR must be host:port/);
    }
  });
});

describe('readGatewayConfig: AGG_MAX_FUTURE_SKEW_SECONDS', () => {
  it('refuses metrics stamped more than 60 s ahead by default, and names the variable when the value is bad', () => {
    expect(readGatewayConfig({}, { requireBrokers: false }).maxFutureSkewSeconds).toBe(60);
    expect(readGatewayConfig({ AGG_MAX_FUTURE_SKEW_SECONDS: '300' }, { requireBrokers: false }).maxFutureSkewSeconds).toBe(300);
    expect(() => readGatewayConfig({ AGG_MAX_FUTURE_SKEW_SECONDS: 'soon' }, { requireBrokers: false })).toThrow(new ConfigError('AGG_MAX_FUTURE_SKEW_SECONDS must be an integer, got "soon"'));
  });
});
