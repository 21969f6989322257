"""Postmortem fixtures: the finished MIG-002 drill (``demo``), and the API clients."""

from __future__ import annotations

import pytest

from tests.api.conftest import anonymous_api, api_as
from tests.postmortem.demo import Demo, build_demo, install_clock

__all__ = ["anonymous_api", "api_as", "demo"]


@pytest.fixture
def demo(ic, monkeypatch, django_capture_on_commit_callbacks) -> Demo:
    """The drill of ``tests.postmortem.demo``, built on its own clock (no pushes, no broker)."""
    clock = install_clock(monkeypatch)
    with django_capture_on_commit_callbacks(execute=False):
        return build_demo(clock, ic)
