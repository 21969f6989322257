"""The viewers: N websocket clients in one asyncio process, driven over stdin/stdout.

Started by ``bench/live_fanout.py``; never run by hand. Every command is one JSON
line on stdin and gets one JSON line back on stdout:

* ``connect``  open N sockets at once (a reconnect storm), report failures;
* ``arm``      from now on, note when each socket first receives a message
               matching a pattern (one event at a time);
* ``collect``  wait until every socket has it or a deadline passes, return the
               receipt times (``time.monotonic()``, CLOCK_MONOTONIC: the same
               clock in every process on this machine);
* ``stream``   sustained load (bench/sustained.py): from now on, find every event of a
               known set in every message (one regex whose groups, joined by ":", name
               the event), many events in flight at once;
* ``streamed`` wait until every socket has every event or a deadline passes, return
               per event the last socket's receipt time and how many sockets got it;
* ``close``    close the sockets; ``quit`` ends the process.

Receipt time is taken when the socket's reader coroutine gets the message, so it
includes this process's own scheduling; the floor pays the same, which is why the
bench prints them side by side.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import re
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus


@dataclass
class Armed:
    event: int
    pattern: re.Pattern[str]
    times: list[float | None]
    remaining: int
    done: asyncio.Event = field(default_factory=asyncio.Event)
    sample_index: int = 0
    sample: str = ""
    sizes: list[int] = field(default_factory=list)


@dataclass
class Stream:
    """Many events in flight at once: per event, who has it, how many, and when the last did."""

    pattern: re.Pattern[str]
    keys: dict[str, int]  # "group1:group2" -> event
    seen: dict[int, bytearray]
    count: dict[int, int]
    last: dict[int, float]
    wanted: int  # sockets that should get each event
    incomplete: int = 0  # events some socket still lacks
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def on_message(self, i: int, text: str, now: float) -> None:
        for match in self.pattern.finditer(text):
            event = self.keys.get(":".join(match.groups()))
            if event is None:
                continue
            seen = self.seen[event]
            if seen[i]:
                continue
            seen[i] = 1
            self.count[event] += 1
            self.last[event] = now
            if self.count[event] == self.wanted:
                self.incomplete -= 1
                if self.incomplete <= 0:
                    self.done.set()


@dataclass
class Viewers:
    sockets: list[ClientConnection | None] = field(default_factory=list)
    readers: list[asyncio.Task[None] | None] = field(default_factory=list)
    armed: Armed | None = None
    stream: Stream | None = None
    dropped: int = 0  # sockets closed by the server while we still wanted them

    def on_message(self, i: int, text: str) -> None:
        now = time.monotonic()
        if self.stream is not None:
            self.stream.on_message(i, text, now)
            return
        armed = self.armed
        if armed is None or armed.times[i] is not None or not armed.pattern.search(text):
            return
        armed.times[i] = now
        armed.sizes.append(len(text))
        if i == armed.sample_index:
            armed.sample = text
        armed.remaining -= 1
        if armed.remaining <= 0:
            armed.done.set()

    async def read(self, i: int, ws: ClientConnection) -> None:
        try:
            async for message in ws:
                self.on_message(i, message if isinstance(message, str) else message.decode())
        except ConnectionClosed:
            pass
        self.dropped += 1

    async def open_one(
        self, i: int, url: str, origin: str, cookie: str | None, open_timeout: float
    ) -> str | None:
        headers = {"Cookie": cookie} if cookie else None
        try:
            ws = await connect(
                url,
                origin=origin,  # type: ignore[arg-type]  # websockets types Origin as NewType(str)
                additional_headers=headers,
                open_timeout=open_timeout,
                ping_interval=None,  # no keepalive traffic during a measurement
                max_size=2**22,
            )
        except InvalidStatus as exc:
            return f"HTTP {exc.response.status_code}"
        except (OSError, TimeoutError, ConnectionClosed) as exc:
            return type(exc).__name__
        self.sockets[i] = ws
        self.readers[i] = asyncio.create_task(self.read(i, ws))
        return None

    async def connect(self, cmd: dict[str, Any]) -> dict[str, Any]:
        await self.close()
        cookies: list[str | None] = cmd["cookies"]
        self.sockets = [None] * len(cookies)
        self.readers = [None] * len(cookies)
        started = time.monotonic()
        results = await asyncio.gather(
            *(
                self.open_one(i, cmd["url"], cmd["origin"], cookie, float(cmd["timeout"]))
                for i, cookie in enumerate(cookies)
            )
        )
        seconds = time.monotonic() - started
        errors: dict[str, int] = {}
        for error in results:
            if error is not None:
                errors[error] = errors.get(error, 0) + 1
        self.dropped = 0
        # The sockets live until "close": keep them out of the collector's way
        # (measurement apparatus, not the system measured).
        gc.collect()
        gc.freeze()
        return {
            "connected": sum(ws is not None for ws in self.sockets),
            "errors": errors,
            "seconds": seconds,
        }

    def arm(self, cmd: dict[str, Any]) -> dict[str, Any]:
        n = len(self.sockets)
        times: list[float | None] = [None] * n
        live = sum(ws is not None for ws in self.sockets)
        self.armed = Armed(int(cmd["event"]), re.compile(cmd["pattern"]), times, live)
        self.armed.sample_index = int(cmd.get("sample", 0))
        return {"armed": cmd["event"]}

    async def collect(self, cmd: dict[str, Any]) -> dict[str, Any]:
        armed = self.armed
        if armed is None or armed.event != int(cmd["event"]):
            return {"error": "not armed for this event"}
        wait = float(cmd["deadline"]) - time.monotonic()
        if armed.remaining > 0 and wait > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(armed.done.wait(), timeout=wait)
        self.armed = None
        return {
            "times": armed.times,
            "connected": [ws is not None for ws in self.sockets],
            "bytes": max(armed.sizes, default=0),
            "sample": armed.sample,
            "dropped": self.dropped,
        }

    def start_stream(self, cmd: dict[str, Any]) -> dict[str, Any]:
        n = len(self.sockets)
        keys = {str(k): int(v) for k, v in cmd["keys"].items()}
        events = set(keys.values())
        self.stream = Stream(
            pattern=re.compile(cmd["pattern"]),
            keys=keys,
            seen={e: bytearray(n) for e in events},
            count=dict.fromkeys(events, 0),
            last={},
            wanted=sum(ws is not None for ws in self.sockets),
            incomplete=len(events),
        )
        return {"events": len(events)}

    async def streamed(self, cmd: dict[str, Any]) -> dict[str, Any]:
        stream = self.stream
        if stream is None:
            return {"error": "no stream"}
        wait = float(cmd["deadline"]) - time.monotonic()
        if stream.incomplete > 0 and wait > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stream.done.wait(), timeout=wait)
        self.stream = None
        return {
            "last": {str(e): stream.last.get(e) for e in stream.count},
            "count": {str(e): c for e, c in stream.count.items()},
            "wanted": stream.wanted,
            "dropped": self.dropped,
        }

    async def close(self) -> dict[str, Any]:
        self.armed = None
        self.stream = None
        open_sockets = [ws for ws in self.sockets if ws is not None]
        if open_sockets:
            await asyncio.wait([asyncio.create_task(ws.close()) for ws in open_sockets], timeout=20)
        tasks = [task for task in self.readers if task is not None]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=5)
        closed = len(open_sockets)
        self.sockets, self.readers = [], []
        gc.unfreeze()
        gc.collect()
        return {"closed": closed}


async def main() -> None:
    viewers = Viewers()
    # Hundreds of sockets' objects: collect rarely, as the servers measured do.
    gc.set_threshold(50_000, 20, 100)
    out = sys.stdout
    while True:
        line = await asyncio.to_thread(sys.stdin.readline)
        if not line:  # the bench went away
            break
        cmd = json.loads(line)
        op = cmd["op"]
        reply: dict[str, Any]
        if op == "connect":
            reply = await viewers.connect(cmd)
        elif op == "arm":
            reply = viewers.arm(cmd)
        elif op == "collect":
            reply = await viewers.collect(cmd)
        elif op == "stream":
            reply = viewers.start_stream(cmd)
        elif op == "streamed":
            reply = await viewers.streamed(cmd)
        elif op == "close":
            reply = await viewers.close()
        elif op == "quit":
            await viewers.close()
            reply = {"bye": True}
        else:
            reply = {"error": f"unknown op {op!r}"}
        out.write(json.dumps(reply) + "\n")
        out.flush()
        if op == "quit":
            break


if __name__ == "__main__":
    asyncio.run(main())
