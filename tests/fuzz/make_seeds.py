#!/usr/bin/python3
"""Writes the seed corpora of the fuzz targets into corpus/<target>/.

Run it from anywhere; it rewrites the seeds it knows and leaves any other
file (inputs libFuzzer added, for instance) alone. Each seed starts with the
control bytes its target reads first (see the comment atop each fuzz_*.c).
"""
import hashlib
import os
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ACCEPT = b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="  # RFC 6455's sample key's accept.

# Tokens signed over fixed claims at 1700000000 with fuzz_json.c's test
# keys (RS256, ES256, HS256 with "fuzz-secret").
TOKENS = [
    b"eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1MSIsIm5iZiI6MTY5OTk5OTAwMCwiaWF0IjoxNzAwMDAwMDAwLCJleHAiOjE3MDAwMDAzMDB9.WcCI79Jw5O8g1jb0AHDiQGJqHp5ZTvt7dbzEHO2CyFchRL-nSZV7xbtxi25QbotPeI_prvGS8t8qkmYe6T6VWN0DB3Sc5sIonqANhsVfeR2GSArihF-ZrHqUa2Q-xJDkNcQr_ua8m07GKyrsTVmeDLRP0KGG-rPfsZkcJCSbthjlwRaHyp4nC0LqYkcGmcRTZh3K65tUhzSqEE5VRsGMx33pzW3mnCGMrZyniMpbyVfhfkfkjZak58DB0s7X7LRw3DQ41fA1QDQBM3R98J93Ihu0B3zQG-fX8g9w3u8Pk0YTqBxupsxu2WD8qep0bsqcOWk8dIlxCtb6B9OqsGGo1A",
    b"eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1MiIsInNjb3BlIjpbImEiLCJiIl0sImlhdCI6MTcwMDAwMDAwMCwiZXhwIjoxNzAwMDAwMzAwfQ.-Y8dUb864f47UCJmI3SbO_1l-ZS5kRjgEwHIVURTY3eFZGH2wuKprSUgwOzpokTgHH6jsHc9v932lrAEgb8eEg",
    b"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1MyIsIm4iOnsiZGVlcCI6WzEsMix7IngiOm51bGx9XX0sImlhdCI6MTcwMDAwMDAwMCwiZXhwIjoxNzAwMDAwMzAwfQ.bVuJu4G8swv_79RFy719j-Ce7tvwwO1sSez1hzjZeDI",
]


def deflated(data):
    """data as one permessage-deflate payload (RFC 7692 7.2.1)."""
    z = zlib.compressobj(9, zlib.DEFLATED, -15)
    return (z.compress(data) + z.flush(zlib.Z_SYNC_FLUSH))[:-4]


def frame(opcode, payload=b"", fin=True, rsv=0, mask=None, length=None):
    b0 = (0x80 if fin else 0) | (rsv << 4) | opcode
    n = len(payload) if length is None else length
    m = 0x80 if mask else 0
    if n < 126:
        head = bytes([b0, m | n])
    elif n < 65536:
        head = bytes([b0, m | 126]) + struct.pack(">H", n)
    else:
        head = bytes([b0, m | 127]) + struct.pack(">Q", n)
    if mask:
        payload = bytes(c ^ mask[i % 4] for i, c in enumerate(payload))
        head += mask
    return head + payload


def close(code, reason=b""):
    return frame(8, struct.pack(">H", code) + reason)


def text(s, **kw):
    return frame(1, s, **kw)


SEEDS = {
    "fuzz_url": [
        b"ws://127.0.0.1:8080/path?q=1",
        b"wss://[::1]:443/",
        b"ws://example.com",
        b"ws://example.com?query=only",
        b"wss://host.example:9443/a/b/c?x=1&y=2",
        b"ws://host:0/",
        b"ws://host:65536/",
        b"ws://user@host/",
        b"ws://[::1/",
        b"ws://[fe80::1%eth0]/",
        b"http://example.com/",
        b"ws://h/#fragment",
        b"ws://h/\x7f",
        b"ws://127.0.0.1:1/\nHX-Test: value\nPchat\nPsuperchat\n"
        b"Ohttps://origin.example\nJabc.def.ghi\nQtoken\nXbearer.",
        b"ws://127.0.0.1:1/?a=b\nJe30.e30.sig\nJe30.e30.sig\nJe30.e30.sig",
        b"ws://127.0.0.1:1/\nHHost: evil\nHX: a\r\nInjected: yes\n"
        b"HAuthorization: Bearer x\nP\nO\n",
    ],
    "fuzz_proxy": [
        b"\x07HTTP/1.1 200 Connection established\r\n\r\n\x16\x03\x01",
        b"\x20HTTP/1.0 407 Proxy Authentication Required\r\n"
        b"Proxy-Authenticate: Basic realm=\"x\"\r\nContent-Length: 3\r\n"
        b"\r\nabc",
        b"\x03HTTP/1.1 502 Bad Gateway\n\n",
        b"\x05SSH-2.0-OpenSSH_9.2\r\n",
        b"\x00http://al%40ice:s3cr%3At@[::1]:3128/",
        b"\x01proxy.example:8080",
        b"\x02www.example.com\n.example.com, 10.0.0.0/8,*",
        b"\x02fd00::5\nfd00::/8,127.0.0.1/33",
    ],
    "fuzz_upgrade": [
        b"\x00\x00\x00HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket"
        b"\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + ACCEPT +
        b"\r\n\r\n\x81\x05hello",
        b"\x81\x00\x10HTTP/1.1 101 OK\r\nupgrade: WebSocket\r\nconnection: "
        b"keep-alive, Upgrade\r\nsec-websocket-accept: " + ACCEPT +
        b"\r\nSec-WebSocket-Protocol: chat\r\n\r\n",
        b"\x03\x00\x20HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: "
        b"Upgrade\r\nSec-WebSocket-Accept: " + ACCEPT +
        b"\r\nSec-WebSocket-Protocol: jwt.abc.def.ghi\r\n\r\n",
        b"\x00\x00\x00HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: "
        b"Upgrade\r\nSec-WebSocket-Accept: " + ACCEPT +
        b"\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n",
        b"\x04\x00\x00HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: "
        b"Upgrade\r\nSec-WebSocket-Accept: " + ACCEPT +
        b"\r\nSec-WebSocket-Extensions: permessage-deflate; "
        b"server_no_context_takeover; client_max_window_bits=\"10\"\r\n\r\n",
        b"\x00\x00\x05HTTP/1.0 101 OK\r\nUpgrade: websocket\r\nConnection: "
        b"Upgrade\r\nSec-WebSocket-Accept: " + ACCEPT + b"\r\n\r\n",
        b"\x00\x00\x00HTTP/1.1 503 Service Unavailable\r\nRetry-After: 5\r\n"
        b"Content-Type: text/plain\r\nContent-Length: 11\r\n\r\nnot ready\r\n",
        b"\xff\x00\x07HTTP/1.1 401 Unauthorized\r\nTransfer-Encoding: chunked"
        b"\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
        b"\x00\x00\x00HTTP/1.1 426 Upgrade Required\r\nConnection: Upgrade\r\n"
        b"Upgrade: websocket\r\n\r\n",
        b"\x00\x00\x00HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\nabc",
        b"\x00\x00\x00SSH-2.0-OpenSSH_9.2\r\n",
        b"\x00\x00\x30HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n",
        b"\x00\x00\x00HTTP/1.1 101 X\r\nUpgrade: websocket\r\nConnection: "
        b"Upgrade\r\nSec-WebSocket-Accept: " + ACCEPT +
        b"\r\nSec-WebSocket-Accept: " + ACCEPT + b"\r\n\r\n",
        b"\x00\x00\x00HTTP/1.1 101 X\r\n" + b"X-Pad: " + b"a" * 2000 + b"\r\n" +
        b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Accept: " + ACCEPT + b"\r\n\r\n",
    ],
    # Control byte: bit 0 send, bit 1 expect a,b, bit 2 in order, bit 3
    # split, bits 4-5 max message. Then the split point, then the frames.
    "fuzz_frames": [
        b"\x01\x00\x00" + text(b"hello"),
        b"\x01\x00\x00" + text(b"hello") + close(1000),
        b"\x09\x00\x00" + text(b"hello") + close(1000),
        b"\x00\x00\x00" + close(1000),
        b"\x00\x00\x00" + frame(8),
        b"\x03\x00\x00" + text(b'{"type":"a"}') + text(b'{"type":"b"}') +
        close(1001, b"bye"),
        b"\x07\x00\x00" + text(b'{"type":"b"}') + text(b'{"type":"a"}'),
        b"\x0b\x00\x07" + text(b"x") + text(b'{"type":"a"}') +
        text(b'{"type":"b"}') + close(1000),
        b"\x01\x00\x00" + frame(9, b"ping") + frame(10, b"pong") + text(b"hi"),
        b"\x01\x00\x00" + frame(1, b"hel", fin=False) + frame(9, b"p") +
        frame(0, b"lo"),
        b"\x01\x00\x00" + frame(2, bytes(range(256))),
        b"\x01\x00\x00" + close(1012, b"restart"),
        b"\x01\x00\x00" + close(1011, b"Internal error"),
        b"\x01\x00\x00" + close(0),
        b"\x01\x00\x00" + close(5000),
        b"\x01\x00\x00" + frame(8, b"\x03"),
        b"\x01\x00\x00" + close(1000, b"\xff"),
        b"\x01\x00\x00" + text(b"\xc3\x28"),
        b"\x01\x00\x00" + text(b"hi", mask=b"\x01\x02\x03\x04"),
        b"\x01\x00\x00" + text(b"hi", rsv=4),
        # permessage-deflate (control bit 3): RFC 7692's "Hello" twice, the
        # second sharing the first's window; without takeover (bit 4); a
        # bomb; invalid UTF-8 once inflated.
        b"\x09\x00\x05" + frame(1, bytes.fromhex("f248cdc9c90700"), rsv=4) +
        frame(1, bytes.fromhex("f200110000"), rsv=4) + close(1000),
        b"\x19\x00\x03" + frame(1, bytes.fromhex("f248cdc9c90700"), rsv=4) +
        frame(1, bytes.fromhex("f200110000"), rsv=4),
        b"\x29\x00\x00" + frame(1, bytes.fromhex("f248cd"), fin=False, rsv=4) +
        frame(0, bytes.fromhex("c9c90700")),
        b"\x0a\x00\x00" + frame(2, deflated(bytes(1 << 20)), rsv=4),
        b"\x0b\x00\x00" + frame(1, deflated(b"\xc3\x28"), rsv=4),
        b"\x01\x00\x00" + frame(3, b"x"),
        b"\x01\x00\x00" + frame(9, b"", fin=False),
        b"\x01\x00\x00" + frame(9, b"p" * 126),
        b"\x01\x00\x00" + frame(2, b"", length=1 << 63),
        b"\x01\x00\x00" + frame(2, b"", length=(1 << 63) - 1),
        b"\x01\x00\x00" + frame(0, b"orphan"),
        b"\x01\x00\x00" + text(b"a" * 100),
        b"\x31\x00\x00" + text(b"a" * 2000),
        b"\x11\x00\x00" + frame(1, b"a" * 40, fin=False) +
        frame(0, b"a" * 40),
        b"\x09\x00\x02" + text(b"hello"),
        b"\x08\x00\x00" + text(b"held"),
        # Scripted (bit 6): send, expect a, send, expect b, close 1000.
        b"\x40\x00\x00" + text(b'{"type":"a"}') + text(b'{"type":"b"}') +
        close(1000, b"bye"),
        b"\x48\x00\x0e" + text(b'{"type":"a"}') + text(b'{"type":"b"}') +
        close(1000),
        b"\x40\x00\x00" + text(b'{"type":"b"}') + close(1001),
    ],
    # Control byte: 0 HS256 claims, 1 ES256 claims, 2 verify, 3 base64url.
    "fuzz_json": [
        b'\x00{"sub":"user-{index}","role":"admin"}',
        b'\x00{"sub":"{index}{index}{index}","n":[1,2,{"k":"{index}"}]}',
        b'\x00{"a":{"b":{"c":{"d":["{index}"]}}}}',
        b'\x00{"exp":1,"iat":"x","nbf":1}',
        b'\x00{"exp":1,"exp":2}',
        b"\x00{}",
        b"\x00[]",
        b'\x00"string"',
        b"\x00{\"unterminated\":",
        b'\x00{"u":"\u00e9\ud83d\ude00"}',
        b'\x01{"sub":"es-{index}"}',
        b"\x02" + TOKENS[2],
        b"\x06" + TOKENS[0],
        b"\x0a" + TOKENS[1],
        b"\x12" + TOKENS[2],
        b"\x22" + TOKENS[2],
        b"\x42" + TOKENS[2],
        b"\x02eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",
        b"\x02a.b.c.d",
        b"\x02....",
        b"\x03hello world",
        b"\x03AA-_",
    ],
}


def main():
    for target, seeds in SEEDS.items():
        d = os.path.join(HERE, "corpus", target)
        os.makedirs(d, exist_ok=True)
        for s in seeds:
            name = "seed-" + hashlib.sha1(s).hexdigest()[:16]
            with open(os.path.join(d, name), "wb") as f:
                f.write(s)
        print("%s: %d seeds" % (target, len(seeds)))


if __name__ == "__main__":
    main()
