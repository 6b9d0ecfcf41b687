import { parseBatchRequest, type BatchInput, type BatchProcessRequest } from '@pipeline/contracts';
import type { BatchJobOptions } from './BatchJobOptions';
import { compileEventCheck } from './compileEventCheck';
import { parseBatchOptions } from './parseBatchOptions';

export interface BatchRequest {
  request: BatchProcessRequest;
  options: BatchJobOptions;
  input: BatchInput;
}

/**
 * The one validator of a `POST /pipeline/spark/process` body, called by the gateway (400 before a job
 * exists) and by the batch-processor (for a command it reads). In order:
 *   1. the published schema of the operation (`parseBatchRequest` of @pipeline/contracts): types,
 *      ranges, required and unknown fields, one input — ContractError;
 *   2. the option rules a schema cannot state (`parseBatchOptions`): slide ≤ window, whole
 *      milliseconds, at most 1000 windows per event — BatchInputError;
 *   3. every inline event, with the checks its run applies (`compileEventCheck`): `events[3].value
 *      must be a finite number, got Infinity` — BatchInputError. Events of a source range are not
 *      here: a task skips the records it cannot read.
 */
export function readBatchRequest(body: unknown): BatchRequest {
  const { request, input } = parseBatchRequest(body);
  const options = parseBatchOptions(request.operation, request as unknown as Record<string, unknown>);
  if (input.kind === 'events') throwFirst(compileEventCheck(options, 'events'), input.events);
  if (input.kind === 'join_events') {
    throwFirst(compileEventCheck(options, 'left'), input.left);
    throwFirst(compileEventCheck(options, 'right'), input.right);
  }
  return { request, options, input };
}

function throwFirst(check: ReturnType<typeof compileEventCheck>, events: readonly unknown[]): void {
  for (let i = 0; i < events.length; i++) {
    const error = check(events[i], i);
    if (error) throw error;
  }
}
