import type { OutgoingMessage } from './EventBus';
import { PublishQueue } from './PublishQueue';

const msg = (value: string, key?: string): OutgoingMessage => ({ topic: 't', key, value });

/** A queue whose requests are recorded and settle when the test says so. */
function recordingQueue(opts: { maxBatchMessages?: number; maxBatchBytes?: number } = {}) {
  const requests: string[][] = [];
  const settle: (() => void)[] = [];
  const queue = new PublishQueue({
    lingerMs: 1,
    maxBatchMessages: opts.maxBatchMessages ?? 100,
    maxBatchBytes: opts.maxBatchBytes ?? 1_000_000,
    send: (messages) => {
      requests.push(messages.map((m) => String(m.value)));
      return new Promise<void>((resolve) => settle.push(resolve));
    },
  });
  const settleAll = async () => {
    while (settle.length > 0) {
      settle.shift()!();
      await new Promise((r) => setImmediate(r));
    }
  };
  return { queue, requests, settle, settleAll };
}

describe('PublishQueue', () => {
  it('sends one request at a time, in order, within maxBatchMessages and maxBatchBytes; what queues meanwhile goes out next', async () => {
    const { queue, requests, settleAll } = recordingQueue({ maxBatchMessages: 2, maxBatchBytes: 5 });
    const first = queue.publishBatch([msg('a'), msg('b'), msg('c')]);
    const later = queue.publish(msg('dddddd'));
    const last = queue.publish(msg('e'));
    await new Promise((r) => setTimeout(r, 5));
    expect(requests).toEqual([['a', 'b']]);
    await settleAll();
    await Promise.all([first, later, last]);
    expect(requests).toEqual([['a', 'b'], ['c'], ['dddddd'], ['e']]);
  });

  it('drain waits for everything queued, also what is published while it drains; close refuses new messages', async () => {
    const { queue, requests, settle, settleAll } = recordingQueue();
    void queue.publish(msg('a'));
    const drained = queue.drain();
    await new Promise((r) => setImmediate(r));
    const during = queue.publish(msg('b'));
    let done = false;
    void drained.then(() => (done = true));
    settle.shift()!();
    await new Promise((r) => setImmediate(r));
    expect(done).toBe(false);
    await settleAll();
    await Promise.all([drained, during]);
    expect(requests).toEqual([['a'], ['b']]);
    await queue.close();
    await expect(queue.publish(msg('c'))).rejects.toThrow('bus is closed');
    await expect(queue.publishBatch([msg('c')])).rejects.toThrow('bus is closed');
  });
});
