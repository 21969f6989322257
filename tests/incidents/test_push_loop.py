"""The server's deferred push (incidents/push_loop.py): off the request, merged per incident.

No database: the render is a stand-in that records what it was asked for, and the
layer is replaced where the bytes leave (``events.agroup_send``).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from incidents import events, push_loop
from incidents.access import Audience
from incidents.events import Change


class Sent(list[tuple[str, str]]):
    """What left for the layer, (group, text), in order; ``until(n)`` waits for n of them."""

    def __init__(self) -> None:
        super().__init__()
        self.arrived = asyncio.Event()

    async def until(self, n: int) -> None:
        async with asyncio.timeout(5):
            while len(self) < n:
                self.arrived.clear()
                await self.arrived.wait()


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> Iterator[Sent]:
    out = Sent()

    async def record(group: str, message: Any) -> None:
        out.append((group, message["html"]))
        out.arrived.set()

    monkeypatch.setattr(events, "agroup_send", record)
    yield out
    push_loop.detach()


def test_change_merge_takes_the_union() -> None:
    a = Change(1, steps={1}, timeline={10})
    a.merge(Change(1, steps={2}, phases={5}, timeline={11}, header=True, resync=True))
    assert a == Change(1, steps={1, 2}, phases={5}, timeline={10, 11}, header=True, resync=True)


def test_without_a_server_loop_nothing_is_taken() -> None:
    push_loop.detach()
    assert push_loop.offer(Change(1), 0.0, lambda c: {}) is False


def of(sent: Sent, incident_id: int) -> list[tuple[str, str]]:
    return [(g, t) for g, t in sent if g.startswith(f"incident.{incident_id}.")]


@pytest.mark.asyncio
async def test_changes_of_one_incident_arriving_during_a_render_are_rendered_once(
    sent: Sent,
) -> None:
    """The first render blocks until three more changes (two incidents) have arrived;
    then one render per incident takes in all that waited, each audience sent once."""
    loop = asyncio.get_running_loop()
    push_loop.attach(loop, interval=0)
    first_started = threading.Event()
    release = threading.Event()
    rendered: list[Change] = []

    def render(change: Change) -> dict[Audience, str]:
        rendered.append(change)
        if len(rendered) == 1:
            first_started.set()
            assert release.wait(5)
        return {"act": f"act {sorted(change.steps)}", "view": ""}

    def commit(change: Change) -> None:  # as a request's thread does on commit
        assert push_loop.offer(change, 0.0, render)

    await asyncio.to_thread(commit, Change(1, steps={1}))
    assert await asyncio.to_thread(first_started.wait, 5)
    for change in (Change(1, steps={2}), Change(2, steps={7}), Change(1, steps={3}, resync=True)):
        await asyncio.to_thread(commit, change)
    await asyncio.sleep(0.05)  # all three are on the loop, waiting
    release.set()
    await sent.until(5)
    assert sorted(sorted(c.steps) for c in rendered) == [[1], [2, 3], [7]]
    assert of(sent, 1) == [
        ("incident.1.act", "act [1]"),
        ("incident.1.act", "act [2, 3]"),  # the view's html was empty: not sent
        ("incident.1.act", '{"resync":true}'),
        ("incident.1.view", '{"resync":true}'),
    ]
    assert of(sent, 2) == [("incident.2.act", "act [7]")]


@pytest.mark.asyncio
async def test_a_burst_goes_once_per_interval_and_an_isolated_change_at_once(sent: Sent) -> None:
    """Interval 1 s: the first change goes at once; two more 10 ms later wait for the
    rest of the interval and go as one; another incident is not held back by it."""
    loop = asyncio.get_running_loop()
    push_loop.attach(loop, interval=1.0)
    at: list[tuple[float, list[int]]] = []

    def render(change: Change) -> dict[Audience, str]:
        at.append((loop.time(), sorted(change.steps)))
        return {"act": f"act {change.incident_id} {sorted(change.steps)}", "view": ""}

    start = loop.time()
    await asyncio.to_thread(push_loop.offer, Change(1, steps={1}), 0.0, render)
    await sent.until(1)
    assert loop.time() - start < 0.8  # at once
    first = at[0][0]
    await asyncio.sleep(0.01)
    await asyncio.to_thread(push_loop.offer, Change(1, steps={2}), 0.0, render)
    await asyncio.to_thread(push_loop.offer, Change(1, steps={3}), 0.0, render)
    await asyncio.to_thread(push_loop.offer, Change(2, steps={9}), 0.0, render)
    await sent.until(3)
    assert [steps for _, steps in at] == [[1], [9], [2, 3]]
    assert at[1][0] - first < 0.8  # incident 2 did not wait for incident 1's interval
    assert at[2][0] - first >= 0.9  # incident 1's burst waited for the interval, merged
    assert sent == [
        ("incident.1.act", "act 1 [1]"),
        ("incident.2.act", "act 2 [9]"),
        ("incident.1.act", "act 1 [2, 3]"),
    ]


@pytest.mark.asyncio
async def test_a_failed_render_is_logged_and_the_next_change_still_goes(
    sent: Sent, caplog: pytest.LogCaptureFixture
) -> None:
    push_loop.attach(asyncio.get_running_loop(), interval=0)

    def render(change: Change) -> dict[Audience, str]:
        if 1 in change.steps:
            raise RuntimeError("database away")
        return {"act": "ok", "view": "ok"}

    await asyncio.to_thread(push_loop.offer, Change(1, steps={1}), 0.0, render)
    await asyncio.sleep(0.1)  # the first fails alone before the next arrives
    await asyncio.to_thread(push_loop.offer, Change(1, steps={2}), 0.0, render)
    await sent.until(2)
    assert sent == [("incident.1.act", "ok"), ("incident.1.view", "ok")]
    assert "could not push a change of incident 1" in caplog.text
