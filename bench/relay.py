"""The floor: a bare Redis pub/sub → websocket relay, in its own process.

It subscribes to one Redis channel and forwards every message, unchanged, to all
connected websocket clients with ``websockets.broadcast`` (no per-socket task, no
template, no channel layer). Started by ``bench/live_fanout.py``; it prints
``ready <port>`` once it listens and is subscribed, and stops on SIGTERM/SIGINT.
Defaults match what Ripcord's server offers a browser: permessage-deflate as the
server has it (``--deflate``; off unless ``UVICORN_WS_PER_MESSAGE_DEFLATE=true``,
tests/integration/processes.py), uvloop if installed, the same garbage-collector
thresholds as config/asgi.py.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import signal
import sys

from redis import asyncio as aioredis
from websockets.asyncio.server import ServerConnection, broadcast, serve

CLIENTS: set[ServerConnection] = set()


async def handler(ws: ServerConnection) -> None:
    CLIENTS.add(ws)
    try:
        await ws.wait_closed()
    finally:
        CLIENTS.discard(ws)


async def forward(pubsub: aioredis.client.PubSub) -> None:
    while True:
        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
        if message is None:
            continue
        data = message["data"]
        broadcast(CLIENTS, data.decode() if isinstance(data, bytes) else str(data))


async def main(port: int, redis_url: str, channel: str, deflate: bool) -> None:
    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set_result, None)
    client = aioredis.Redis.from_url(redis_url)
    pubsub = client.pubsub()
    await pubsub.subscribe(channel)
    relay = asyncio.create_task(forward(pubsub))
    compression = "deflate" if deflate else None
    async with serve(
        handler, "127.0.0.1", port, ping_interval=None, max_size=2**20, compression=compression
    ):
        gc.freeze()
        gc.set_threshold(50_000, 20, 100)
        print(f"ready {port}", flush=True)
        await stop
    relay.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await relay
    await pubsub.aclose()
    await client.aclose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--channel", required=True)
    parser.add_argument("--deflate", action="store_true", help="offer permessage-deflate")
    args = parser.parse_args()
    try:
        import uvloop
    except ImportError:
        runner = asyncio.run
    else:
        runner = uvloop.run
    runner(main(args.port, args.redis_url, args.channel, args.deflate))
    sys.exit(0)
