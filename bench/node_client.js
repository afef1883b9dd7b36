// The benchmark workload on Node's ws (Debian's node-ws, /usr/share/nodejs/ws):
// N probes, C in flight, each: connect, upgrade offering
// `Sec-WebSocket-Protocol: jwt.<token>`, send one text message, receive one
// reply, close cleanly (close 1000, the server's close and EOF).
// Prints one JSON line: probes/s, p50/p99 latency, CPU seconds, peak RSS.
//
// Held-open mode (HOLD_MS > 0, C == N): open every connection, and once all
// are open hold them HOLD_MS, then close them cleanly; no message is sent.
//
// For wss:// URLs, CAFILE is the CA to verify the server against (ws's
// `ca` option; ws opens each connection with tls.connect and no session,
// so each is a full TLS handshake).
//
// Usage: node bench/node_client.js URL N C [HOLD_MS] [TOKEN] [CAFILE]
'use strict';
const fs = require('fs');
const WebSocket = require('/usr/share/nodejs/ws');

const url = process.argv[2];
const n = +process.argv[3];
const c = +process.argv[4];
const hold = +(process.argv[5] || 0);
const token = process.argv[6] || 'bench.token.x';
const ca = process.argv[7] ? fs.readFileSync(process.argv[7]) : undefined;
const lat = [];
let started = 0, done = 0, failed = 0, opened = 0, holding = false;
const held = [];

function maybeHold() { // once every connection is open (or failed)
  if (!hold || holding || opened + failed < n) return;
  holding = true;
  setTimeout(() => { for (const w of held) w.close(1000); }, hold);
}
const t0 = process.hrtime.bigint();

function rank(v, q) { // nearest rank, as the other clients
  return v.length ? v[Math.min(v.length - 1,
                               Math.max(0, Math.ceil(q * v.length) - 1))]
                  : null;
}

function settle(ok, s) {
  if (ok) lat.push(Number(process.hrtime.bigint() - s) / 1e6);
  else failed++;
  maybeHold();
  if (++done === n) finish();
  else if (!hold) one();
}

function one() {
  if (started >= n) return;
  started++;
  const s = process.hrtime.bigint();
  const ws = new WebSocket(url, ['jwt.' + token],
                           { perMessageDeflate: false, ca });
  let ok = false, counted = false;
  ws.on('open', () => {
    if (!hold) { ws.send('hi'); return; }
    held.push(ws);
    opened++;
    maybeHold();
  });
  ws.on('message', () => { ok = true; ws.close(1000); });
  ws.on('error', () => {});
  ws.on('close', (code) => {
    if (counted) return;
    counted = true;
    // Clean: our close answered by the server's (1000) and TCP ended.
    settle((hold ? code === 1000 : ok && code === 1000), s);
  });
}

function finish() {
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  lat.sort((a, b) => a - b);
  const ru = process.resourceUsage();
  console.log(JSON.stringify({
    client: 'node-ws', n, c, ok: lat.length, failed,
    probes_per_s: n / wall,
    p50_ms: rank(lat, 0.5), p99_ms: rank(lat, 0.99),
    cpu_s: (ru.userCPUTime + ru.systemCPUTime) / 1e6,
    peak_rss_kb: ru.maxRSS,
  }));
}

for (let i = 0; i < (hold ? n : c); i++) one();
