#!/usr/bin/python3
"""Python `websockets` (10.4, Debian's python3-websockets) as an interop peer (not a test file).

    /usr/bin/python3 python_peer.py client URL [--deflate]  # two connections to URL, one after
                                                            # the other
    /usr/bin/python3 python_peer.py server [--deflate]      # websockets.serve on 127.0.0.1:0;
                                                            # prints "listening on ws://…"

websockets can ping (and await the pong), and send a fragmented message (an iterable of
fragments), but it does not expose received pings or pongs. Its client offers and its server
accepts permessage-deflate by default (the server asks for 12-bit windows both ways), so
`--deflate` changes nothing: a wsdriver server without deflate must decline the offer. The `open`
report's `extensions` is the Sec-WebSocket-Extensions value of the handshake ("" if none). The
peer protocol is described in tests/interop/README.md and peers/web_peer.ts.
"""

import asyncio
import hashlib
import json
import sys

import websockets
from websockets.exceptions import ConnectionClosed

SUPPORTED = ["interop.v2", "interop.v1"]
OFFERED = ["bogus.v0", "interop.v1"]
MAX_SIZE = 64 * 1024 * 1024

FRAGMENT_TEXT = ["frag-", "ment-", "ed ü😀"]
FRAGMENT_BINARY = bytes((i * 3 + 1) & 0xFF for i in range(300))


def report(**obj):
    print(json.dumps(obj, ensure_ascii=False), flush=True)


async def command(ws, cmd):
    if cmd == "cmd:close":
        await ws.close(4001, "peer bye")
    elif cmd == "cmd:ping":
        waiter = await ws.ping(b"peer-ping")
        # websockets resolves the waiter only for a pong with the same payload.
        await asyncio.wait_for(waiter, 10)
        report(event="pong", data="peer-ping")
    elif cmd == "cmd:fragment":
        await ws.send(FRAGMENT_TEXT)
        await ws.send([FRAGMENT_BINARY[:100], b"", FRAGMENT_BINARY[100:]])
    else:
        report(event="unsupported", cmd=cmd)


async def run_peer(ws):
    # The response head (sent by a server, received by a client).
    extensions = ws.response_headers.get("Sec-WebSocket-Extensions", "")
    report(event="open", protocol=ws.subprotocol or "", extensions=extensions)
    try:
        async for msg in ws:
            if isinstance(msg, str) and msg.startswith("cmd:"):
                await command(ws, msg)
                continue
            await ws.send(msg)
            data = msg.encode("utf-8") if isinstance(msg, str) else msg
            report(
                event="message",
                binary=isinstance(msg, bytes),
                length=len(data),
                sha256=hashlib.sha256(data).hexdigest(),
            )
    except ConnectionClosed:
        pass
    await ws.wait_closed()
    report(event="close", code=ws.close_code, reason=ws.close_reason, clean=None)


async def client(url):
    for _ in range(2):
        async with websockets.connect(url, subprotocols=OFFERED, max_size=MAX_SIZE) as ws:
            await run_peer(ws)


async def server():
    async with websockets.serve(
        run_peer, "127.0.0.1", 0, subprotocols=SUPPORTED, max_size=MAX_SIZE
    ) as srv:
        port = srv.sockets[0].getsockname()[1]
        print(f"listening on ws://127.0.0.1:{port}", flush=True)
        await asyncio.Future()


def main():
    args = [a for a in sys.argv[1:] if a != "--deflate"]
    if len(args) == 2 and args[0] == "client":
        asyncio.run(client(args[1]))
    elif args == ["server"]:
        asyncio.run(server())
    else:
        print("usage: python_peer.py client URL | server", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
