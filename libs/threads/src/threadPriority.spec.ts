import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { threadNice } from '@pipeline/testing';
import { lowerThreadPriority } from './threadPriority';

/** The nice value of one thread of this process, as the kernel reports it. */
const kernelNice = (tid: number): number => threadNice(process.pid, tid);

const linux = process.platform === 'linux';
// The worker loads the TypeScript source itself: Node 24 strips the types.
const MODULE = join(__dirname, 'threadPriority.ts');

describe('lowerThreadPriority', () => {
  (linux ? it : it.skip)('renices only the calling worker thread, not the process', async () => {
    // The worker lowers its own priority, reports its thread id, then waits to be terminated so its
    // /proc entry can be read while it is alive.
    const source = `
      const { parentPort } = require('node:worker_threads');
      const { lowerThreadPriority } = require(${JSON.stringify(MODULE)});
      parentPort.postMessage(lowerThreadPriority(7));
      setInterval(() => {}, 1000);`;
    const mainBefore = kernelNice(process.pid);
    const worker = new Worker(source, { eval: true });
    try {
      const result = await new Promise<{ applied: boolean; tid: number; nice: number }>((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
      });
      // A test run that is itself niced above 7 keeps its value (never raised).
      const expected = Math.max(7, mainBefore);
      expect(result).toMatchObject({ applied: true, nice: expected });
      expect(result.tid).not.toBe(process.pid);
      expect(kernelNice(result.tid)).toBe(expected);
      expect(kernelNice(process.pid)).toBe(mainBefore); // the main thread (tid = pid) is untouched
    } finally {
      await worker.terminate();
    }
  });

  (linux ? it : it.skip)('never raises a thread priority back', async () => {
    const source = `
      const { parentPort } = require('node:worker_threads');
      const { lowerThreadPriority } = require(${JSON.stringify(MODULE)});
      const first = lowerThreadPriority(12);
      parentPort.postMessage([first, lowerThreadPriority(5)]);`;
    const worker = new Worker(source, { eval: true });
    const [first, second] = await new Promise<Array<{ nice: number }>>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    const expected = Math.max(12, kernelNice(process.pid));
    expect(first).toMatchObject({ applied: true, nice: expected });
    expect(second).toMatchObject({ applied: true, nice: expected });
  });

  it('refuses a nice value outside 0–19 without touching anything', () => {
    const before = linux ? kernelNice(process.pid) : 0;
    expect(lowerThreadPriority(20)).toEqual({ applied: false, reason: 'nice must be an integer 0–19, got 20' });
    expect(lowerThreadPriority(-1)).toMatchObject({ applied: false });
    if (linux) expect(kernelNice(process.pid)).toBe(before);
  });
});
