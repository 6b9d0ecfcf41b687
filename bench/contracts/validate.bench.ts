// Validation throughput for a metric event (target ≥ 1,000,000 validations/s).
//   npm run bench:contracts
import { normalizeEvent } from '@pipeline/contracts';

const opts = { nowMs: Date.now(), defaultSource: 'bench', newId: () => 'id' };
const events = Array.from({ length: 1000 }, (_, i) => ({
  id: `e${i}`,
  topic: 'events.metrics',
  timestamp: '2026-11-27T12:00:00.000Z',
  payload: { metric_name: `m${i % 10}`, value: i * 1.5, group_by: `g${i % 7}`, tags: { region: 'eu' } },
}));
function run(n: number): number {
  const t0 = process.hrtime.bigint();
  let sink = 0;
  for (let i = 0; i < n; i++) sink += normalizeEvent(events[i % 1000], opts).key.length;
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  if (sink === 0) throw new Error('unreachable');
  return n / secs;
}
run(200_000); // warm-up
const rates = [1, 2, 3, 4, 5].map(() => run(1_000_000)).sort((a, b) => a - b);
console.log(`normalizeEvent(metric, with id+timestamp given): median ${Math.round(rates[2]).toLocaleString('en-US')} validations/s (runs: ${rates.map((r) => Math.round(r)).join(', ')})`);
