// Bytes allocated per call by owner (the innermost frame from grpc-js, our bundle, prom-client or
// kafkajs; anything else counts as Node internals), from a profile written by preload.cjs.
//   node bench/ml-serving/alloc/report.mjs /tmp/<app>-alloc-<pid>.json
import { readFileSync } from 'node:fs';

const { calls, profile } = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const owners = [
  ['grpc-js', (u) => u.includes('grpc-js')],
  ['ours (dist/apps/<app>/main.js)', (u) => u.endsWith('main.js')],
  ['express and its middleware', (u) => /node_modules\/(express|body-parser|router|raw-body|qs|send|finalhandler|on-finished|type-is|content-type|accepts|negotiator|cookie|serve-static)\//.test(u)],
  ['pino', (u) => u.includes('pino')],
  ['prom-client', (u) => u.includes('prom-client')],
  ['kafkajs', (u) => u.includes('kafkajs')],
];
const bytes = new Map();
(function walk(node, urls) {
  const path = [...urls, node.callFrame.url];
  if (node.selfSize) {
    let owner = 'node internals';
    for (let i = path.length - 1; i >= 0 && owner === 'node internals'; i--) owner = owners.find(([, match]) => match(path[i]))?.[0] ?? owner;
    bytes.set(owner, (bytes.get(owner) ?? 0) + node.selfSize);
  }
  for (const child of node.children) walk(child, path);
})(profile.head, []);
const total = [...bytes.values()].reduce((a, b) => a + b, 0);
console.log(`${calls} calls, ${(total / calls / 1000).toFixed(1)} KB allocated per call (sampled, whole process)`);
for (const [owner, b] of [...bytes].sort((a, b) => b[1] - a[1])) console.log(`  ${(b / calls / 1000).toFixed(2).padStart(6)} KB/call  ${owner}`);
