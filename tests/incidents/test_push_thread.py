"""The worker's deferred push (incidents/push_thread.py): on a thread, merged per incident.

No database: the render is a stand-in that records what it was asked for (and on which
thread), and the layer is replaced where the bytes leave (``events.group_send``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from incidents import events, push_thread
from incidents.access import Audience
from incidents.events import Change

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, str]]]:
    out: list[tuple[str, str]] = []
    monkeypatch.setattr(events, "group_send", lambda group, msg: out.append((group, msg["html"])))
    push_thread.enable()
    yield out
    push_thread.drain(timeout=5)
    push_thread.disable()


def test_outside_a_worker_nothing_is_taken() -> None:
    push_thread.disable()
    assert push_thread.offer(Change(1), 0.0, lambda c: {}) is False


def test_a_worker_renders_and_sends_on_its_push_thread(sent: list[tuple[str, str]]) -> None:
    threads: list[str] = []

    def render(change: Change) -> dict[Audience, str]:
        threads.append(threading.current_thread().name)
        return {"act": f"<b>{sorted(change.steps)}</b>", "view": ""}

    assert push_thread.offer(Change(7, steps={3}, resync=True), 0.0, render) is True
    assert push_thread.drain(timeout=5)

    assert threads == ["ripcord-push"]
    assert sent == [
        ("incident.7.act", "<b>[3]</b>"),
        ("incident.7.act", '{"resync":true}'),
        ("incident.7.view", '{"resync":true}'),
    ]


def test_changes_waiting_during_a_render_are_rendered_once(sent: list[tuple[str, str]]) -> None:
    rendering, release = threading.Event(), threading.Event()
    renders: list[set[int]] = []

    def render(change: Change) -> dict[Audience, str]:
        renders.append(set(change.steps))
        if len(renders) == 1:
            rendering.set()
            assert release.wait(5)
        return {"act": "x"}

    push_thread.offer(Change(1, steps={1}), 0.0, render)
    assert rendering.wait(5)
    for step in (2, 3, 4):  # arrive while the first render runs
        push_thread.offer(Change(1, steps={step}), 0.0, render)
    release.set()
    assert push_thread.drain(timeout=5)

    assert renders == [{1}, {2, 3, 4}]


def test_a_failed_render_is_logged_and_the_next_push_goes_out(
    sent: list[tuple[str, str]], caplog: Any
) -> None:
    def broken(change: Change) -> dict[Audience, str]:
        raise RuntimeError("template error")

    push_thread.offer(Change(1), 0.0, broken)
    push_thread.offer(Change(2), 0.0, lambda c: {"act": "fine"})
    assert push_thread.drain(timeout=5)

    assert sent == [("incident.2.act", "fine")]
    assert "could not push a change of incident 1" in caplog.text
