import { status } from '@grpc/grpc-js';
import { InvalidArgumentError } from '@pipeline/contracts';
import { BusUnavailableError } from '@pipeline/kafka';
import { MlInputError } from '@pipeline/ml';
import { CancelledError, DeadlineExceededError, InternalPredictError, ModelNotFoundError, NotReadyError, UnknownServiceError } from './errors';
import { toGrpcError } from './toGrpcError';

describe('toGrpcError (the one mapping of errors to gRPC statuses)', () => {
  const logged: unknown[] = [];
  const map = (err: unknown) => {
    const r = toGrpcError(err, 'Predict', (e) => logged.push(e));
    return [r.code, r.details];
  };
  beforeEach(() => (logged.length = 0));

  it('gives each known kind its status and its message, and logs none of them', () => {
    expect([
      map(new InvalidArgumentError('rows[0] must have 3 features, got 2')),
      map(new MlInputError('rows[1].cpu must be a finite number, got "x"', 'rows[1].cpu')),
      map(new ModelNotFoundError('m', 2)),
      map(new UnknownServiceError('x.Y')),
      map(new NotReadyError()),
      map(new BusUnavailableError('Kafka is unavailable — retry later')),
      map(new DeadlineExceededError()),
      map(new CancelledError()),
    ]).toEqual([
      [status.INVALID_ARGUMENT, 'rows[0] must have 3 features, got 2'],
      [status.INVALID_ARGUMENT, 'rows[1].cpu must be a finite number, got "x"'],
      [status.NOT_FOUND, 'model "m" version 2 not found'],
      [status.NOT_FOUND, 'service "x.Y" is not known to this server'],
      [status.UNAVAILABLE, 'models are not loaded yet'],
      [status.UNAVAILABLE, 'Kafka is unavailable — retry later'],
      [status.DEADLINE_EXCEEDED, 'deadline exceeded before prediction started'],
      [status.CANCELLED, 'request cancelled'],
    ]);
    expect(logged).toEqual([]);
  });

  it('turns an abort into CANCELLED', () => {
    expect(map(Object.assign(new Error('aborted'), { name: 'AbortError' }))).toEqual([status.CANCELLED, 'request cancelled']);
  });

  it('answers anything else INTERNAL with a generic message and logs the original', () => {
    const broken = new InternalPredictError('model "m" version 1 returned 3 predictions for 2 rows');
    expect([map(broken), map(new Error('secret path /var/x'))]).toEqual([
      [status.INTERNAL, 'internal error'],
      [status.INTERNAL, 'internal error'],
    ]);
    expect(logged).toEqual([broken, new Error('secret path /var/x')]);
  });
});
