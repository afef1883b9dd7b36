// The benchmark workload on Node's ws (Debian's node-ws): N probes at
// concurrency C, each connect, upgrade offering jwt.<token>, send one text
// message, receive one reply, close cleanly. Prints one JSON line.
// Usage: node bench/node_client.js URL N C
'use strict';
const WebSocket = require('/usr/share/nodejs/ws');
const [url, n, c] = [process.argv[2], +process.argv[3], +process.argv[4]];
const lat = [];
let started = 0, done = 0, failed = 0;
const t0 = process.hrtime.bigint();

function one() {
  if (started >= n) return;
  started++;
  const s = process.hrtime.bigint();
  const ws = new WebSocket(url, ['jwt.bench.token.x'],
                           { perMessageDeflate: false });
  let ok = false;
  ws.on('open', () => ws.send('hi'));
  ws.on('message', () => { ok = true; ws.close(1000); });
  ws.on('error', () => {});
  ws.on('close', () => {
    if (ok) lat.push(Number(process.hrtime.bigint() - s) / 1e6);
    else failed++;
    if (++done === n) finish(); else one();
  });
}

function finish() {
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  lat.sort((a, b) => a - b);
  const ru = process.resourceUsage();
  console.log(JSON.stringify({
    client: 'node-ws', n, c, ok: lat.length, failed,
    probes_per_s: n / wall,
    p50_ms: lat[Math.floor(lat.length / 2)],
    p99_ms: lat[Math.floor(lat.length * 0.99) - 1],
    cpu_s: (ru.userCPUTime + ru.systemCPUTime) / 1e6,
    peak_rss_kb: ru.maxRSS,
  }));
}

for (let i = 0; i < c; i++) one();
