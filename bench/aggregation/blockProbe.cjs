// Preloaded into the services by bench/aggregation/liveStats.bench.ts (`node --require`), never by
// the services themselves. Every 10 ms it checks how late its timer fired; for each late firing
// (a block of the event loop longer than 5 ms) it appends to BLOCK_PROBE_FILE one line:
//   <epoch ms> <block ms> <main-thread CPU ms> <process CPU ms>
// the CPU times being what the main thread and the whole process used over that same stretch. A
// block with little main-thread CPU in it is time the process waited (for a core, mostly, on a busy
// host), not code or GC holding its event loop.
'use strict';
const { appendFileSync } = require('node:fs');
const { performance } = require('node:perf_hooks');
const { setInterval } = require('node:timers');

const file = process.env.BLOCK_PROBE_FILE;
if (file) {
  const PERIOD_MS = 10;
  let last = performance.now();
  let thread = process.threadCpuUsage();
  let all = process.cpuUsage();
  const lines = [];
  setInterval(() => {
    const now = performance.now();
    const t = process.threadCpuUsage();
    const a = process.cpuUsage();
    const block = now - last - PERIOD_MS;
    if (block > 5) {
      const ms = (u, v) => ((u.user + u.system - v.user - v.system) / 1000).toFixed(1);
      lines.push(`${Date.now()} ${block.toFixed(1)} ${ms(t, thread)} ${ms(a, all)}\n`);
    }
    last = now;
    thread = t;
    all = a;
  }, PERIOD_MS).unref();
  setInterval(() => {
    if (lines.length > 0) appendFileSync(file, lines.splice(0).join(''));
  }, 500).unref();
}
