#!/usr/bin/env node
/*
 * An interop WebSocket server on Node's `ws` (Debian's node-ws 8.11, found
 * at /usr/share/nodejs/ws or through NODE_PATH).
 *
 *   node node_ws_server.js [--host 127.0.0.1] [--port 0] [--lifetime 60]
 *                          --mode MODE [--deflate off|takeover|no-takeover]
 *
 * Once it accepts connections it prints exactly one line to stdout,
 * "listening on HOST:PORT" (IPv6 hosts in brackets).
 *
 * Modes:
 *   echo              echo every message (text as text, binary as binary)
 *   events            on each message send the agent event sequence as JSON
 *                     text frames {"type": ...}, then wait for the close
 *   close1011-early   on the first message close with 1011 "Internal error"
 *   close:CODE:REASON on the first message close with CODE and REASON;
 *                     ws 8.11 sends 1000-1003, 1007-1014 and 3000-4999
 *                     (1012, 1013, 1014 included); others are refused at
 *                     startup
 *   reject503         answer every upgrade with a raw HTTP 503 (Retry-After:
 *                     5, Content-Type: text/plain, body "down\n") written on
 *                     the socket from the http server's 'upgrade' event
 *   subprotocol-jwt   select the first offered "jwt.*" subprotocol
 *                     (handleProtocols); none offered: no subprotocol. Echo.
 *   silent            accept, read, never reply
 *
 * Only subprotocol-jwt selects a subprotocol (ws's default would select the
 * first one offered).
 *
 * SIGTERM/SIGINT and --lifetime end it with exit status 0.
 */
'use strict';

const http = require('http');
let WebSocket;
try {
  WebSocket = require('ws');
} catch (e) {
  WebSocket = require('/usr/share/nodejs/ws');
}

const EVENTS = ['agent_started', 'agent_thinking', 'tool_executing',
  'tool_completed', 'agent_completed'];

function usage(msg) {
  process.stderr.write(`node_ws_server: ${msg}\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const o = {
    host: '127.0.0.1', port: 0, lifetime: 60, mode: 'echo', deflate: 'off',
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    if (a === '--host') { o.host = v; i++; }
    else if (a === '--port') { o.port = Number(v); i++; }
    else if (a === '--lifetime') { o.lifetime = Number(v); i++; }
    else if (a === '--mode') { o.mode = v; i++; }
    else if (a === '--deflate') { o.deflate = v; i++; }
    else usage(`unknown argument '${a}'`);
    if (v === undefined) usage(`${a} needs a value`);
  }
  if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535)
    usage('bad --port');
  if (!(o.lifetime > 0)) usage('bad --lifetime');
  if (!['off', 'takeover', 'no-takeover'].includes(o.deflate))
    usage('bad --deflate');
  return o;
}

function validCode(c) {
  return (c >= 1000 && c <= 1014 && c !== 1004 && c !== 1005 && c !== 1006) ||
    (c >= 3000 && c <= 4999);
}

function parseMode(text) {
  if (text === 'close1011-early')
    return { mode: 'close', code: 1011, reason: 'Internal error' };
  if (text.startsWith('close:')) {
    const rest = text.slice(6);
    const i = rest.indexOf(':');
    const code = Number(i < 0 ? rest : rest.slice(0, i));
    const reason = i < 0 ? '' : rest.slice(i + 1);
    if (!Number.isInteger(code) || !validCode(code))
      usage(`ws cannot send close code ${rest}`);
    if (Buffer.byteLength(reason) > 123) usage('close reason over 123 bytes');
    return { mode: 'close', code, reason };
  }
  if (['echo', 'events', 'reject503', 'subprotocol-jwt', 'silent']
    .includes(text))
    return { mode: text };
  usage(`unknown mode '${text}'`);
}

const opts = parseArgs(process.argv.slice(2));
const m = parseMode(opts.mode);

// ws selects the first offered subprotocol by default; like the Python
// server, only subprotocol-jwt selects one here.
const wssOpts = {
  noServer: true,
  handleProtocols: (protocols /* Set */) => {
    if (m.mode !== 'subprotocol-jwt') return false;
    for (const p of protocols) if (p.startsWith('jwt.')) return p;
    return false;
  },
};
// permessage-deflate when asked: every message compressed (threshold 0),
// with the server's and the client's context kept or dropped.
if (opts.deflate !== 'off') {
  const none = opts.deflate === 'no-takeover';
  wssOpts.perMessageDeflate = {
    threshold: 0,
    serverNoContextTakeover: none,
    clientNoContextTakeover: none,
  };
}
const wss = new WebSocket.WebSocketServer(wssOpts);

wss.on('connection', (ws) => {
  ws.on('error', () => {});
  let closed = false;
  ws.on('message', (data, isBinary) => {
    switch (m.mode) {
      case 'echo':
      case 'subprotocol-jwt':
        ws.send(data, { binary: isBinary });
        break;
      case 'events':
        for (const t of EVENTS) ws.send(JSON.stringify({ type: t }));
        break;
      case 'close':
        if (!closed) {
          closed = true;
          ws.close(m.code, m.reason);
        }
        break;
      default: /* silent */
        break;
    }
  });
});

const server = http.createServer((req, res) => {
  res.writeHead(426, { 'Content-Type': 'text/plain' });
  res.end('WebSocket only\n');
});

server.on('upgrade', (req, socket, head) => {
  socket.on('error', () => {});
  if (m.mode === 'reject503') {
    const body = 'down\n';
    socket.end('HTTP/1.1 503 Service Unavailable\r\n' +
      'Retry-After: 5\r\n' +
      'Content-Type: text/plain\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Connection: close\r\n' +
      '\r\n' + body);
    return;
  }
  wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
});

function shutdown() {
  for (const c of wss.clients) c.terminate();
  wss.close();
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
}

process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
setTimeout(() => {
  process.stderr.write(`lifetime of ${opts.lifetime}s over, exiting\n`);
  shutdown();
}, opts.lifetime * 1000).unref();

server.listen(opts.port, opts.host, () => {
  const a = server.address();
  const host = a.family === 'IPv6' || a.family === 6 ? `[${a.address}]`
    : a.address;
  process.stdout.write(`listening on ${host}:${a.port}\n`);
});
