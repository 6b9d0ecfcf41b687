// Worker-thread entry of api-gateway (bundled to dist/apps/api-gateway/adhoc.worker.js): runs the
// ad-hoc k-means and isolation forests of /pipeline/ml/cluster and /anomalies off the event loop.
import { answerWorkerCalls } from '@pipeline/service-runtime';
import { computeAdhocMl } from './adhocMl';

answerWorkerCalls(computeAdhocMl);
