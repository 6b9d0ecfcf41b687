import type { BatchSourceRange, BatchTask } from '@pipeline/contracts';
import { partitionForKey } from '@pipeline/kafka';

/**
 * One task per (source, partition), sources in request order (join: left then right), partitions
 * ascending. Partials are merged in this order, so the answer does not depend on which replica ran
 * which task. Example: a join of a 3-partition left topic and a 2-partition right topic gives tasks
 * 0..2 = left p0..p2 and 3..4 = right p0..p1.
 */
export function planTasks(
  job: { jobId: string; request: Record<string, unknown>; startedAt: string; deadlineMs: number },
  sources: readonly { range: BatchSourceRange; partitions: readonly number[] }[],
): BatchTask[] {
  const flat = sources.flatMap((s) => s.partitions.map((partition) => ({ range: s.range, partition })));
  return flat.map(({ range, partition }, task) => ({
    job_id: job.jobId,
    task,
    tasks: flat.length,
    ...(range.side ? { side: range.side } : {}),
    topic: range.topic,
    partition,
    from_ms: range.fromMs,
    to_ms: range.toMs,
    request: job.request,
    started_at: job.startedAt,
    deadline_ms: job.deadlineMs,
  }));
}

/**
 * A key for task `task` of a job that Kafka's default partitioner puts on tasks-topic partition
 * `task mod taskPartitions`: `<job>/<task>#<salt>` with the smallest salt that hashes there (a few
 * tries on average). Consecutive tasks thus land on different partitions, and the consumer group
 * spreads them over the replicas instead of leaving it to hash luck.
 */
export function taskKey(jobId: string, task: number, taskPartitions: number): string {
  const target = task % taskPartitions;
  for (let salt = 0; ; salt++) {
    const key = `${jobId}/${task}#${salt}`;
    if (partitionForKey(key, taskPartitions) === target) return key;
  }
}
