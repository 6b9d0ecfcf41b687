// Worker-thread entry of batch-processor (bundled to dist/apps/batch-processor/compute.worker.js):
// runs the computations of batch jobs (inline jobs, task runs fed a Kafka batch at a time, the
// final merge) so the service's event loop keeps heartbeating Kafka and answering HTTP.
import { answerWorkerCalls } from '@pipeline/service-runtime';
import { computeFinish, computeInline, createTaskRun } from './batchCompute';
import type { ComputeRequest } from './ComputeRunner';

const runs = new Map<number, ReturnType<typeof createTaskRun>>();

function answer(m: ComputeRequest): unknown {
  switch (m.op) {
    case 'inline':
      return computeInline(m.request);
    case 'finish':
      return computeFinish(m.request, m.partials);
    case 'open':
      runs.set(m.run, createTaskRun(m.request, m.at));
      return undefined;
    case 'add':
      runs.get(m.run)!.add(m.batch);
      return undefined;
    case 'end': {
      const run = runs.get(m.run);
      runs.delete(m.run);
      return run?.end();
    }
  }
}

answerWorkerCalls(answer);
