import { partitionForKey } from '@pipeline/kafka';
import { planTasks, taskKey } from './planTasks';

describe('planTasks', () => {
  it('makes one task per (source, partition), left side before right, partitions ascending', () => {
    const tasks = planTasks({ jobId: 'j1', request: { operation: 'join' }, startedAt: '2024-05-01T00:00:00.000Z', deadlineMs: 99 }, [
      { range: { side: 'left', topic: 'events.user', fromMs: 1, toMs: 2 }, partitions: [0, 1, 2] },
      { range: { side: 'right', topic: 'events.analytics', fromMs: 3, toMs: 4 }, partitions: [0, 1] },
    ]);
    expect(tasks.map((t) => [t.task, t.tasks, t.side, t.topic, t.partition, t.from_ms, t.to_ms])).toEqual([
      [0, 5, 'left', 'events.user', 0, 1, 2],
      [1, 5, 'left', 'events.user', 1, 1, 2],
      [2, 5, 'left', 'events.user', 2, 1, 2],
      [3, 5, 'right', 'events.analytics', 0, 3, 4],
      [4, 5, 'right', 'events.analytics', 1, 3, 4],
    ]);
    expect(tasks[0]).toEqual({ job_id: 'j1', task: 0, tasks: 5, side: 'left', topic: 'events.user', partition: 0, from_ms: 1, to_ms: 2, request: { operation: 'join' }, started_at: '2024-05-01T00:00:00.000Z', deadline_ms: 99 });
  });

  it('gives no side to the tasks of a single-source job', () => {
    const [t] = planTasks({ jobId: 'j', request: {}, startedAt: 's', deadlineMs: 0 }, [{ range: { topic: 'x', fromMs: 0, toMs: 1 }, partitions: [4] }]);
    expect('side' in t!).toBe(false);
  });
});

describe('taskKey', () => {
  it('puts task i on tasks partition i mod P with the smallest salt', () => {
    for (const parts of [1, 3, 6]) {
      for (let task = 0; task < 12; task++) {
        const key = taskKey('job-abc', task, parts);
        expect(partitionForKey(key, parts)).toBe(task % parts);
        const salt = Number(key.split('#')[1]);
        for (let s = 0; s < salt; s++) expect(partitionForKey(`job-abc/${task}#${s}`, parts)).not.toBe(task % parts);
      }
    }
    expect(taskKey('job-abc', 5, 1)).toBe('job-abc/5#0');
  });
});
