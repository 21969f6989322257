"""Without dockerd or busybox the Docker tests skip on a laptop, and fail under CI."""

from __future__ import annotations

import pytest

from tests.executors.conftest import missing_prerequisite


@pytest.mark.parametrize("ci", ["true", "True", "1"])
def test_missing_docker_prerequisite_fails_under_ci(monkeypatch, ci):
    monkeypatch.setenv("CI", ci)
    with pytest.raises(pytest.fail.Exception, match="dockerd is not installed; under CI"):
        missing_prerequisite("dockerd is not installed")


@pytest.mark.parametrize("ci", [None, "", "false"])
def test_missing_docker_prerequisite_skips_outside_ci(monkeypatch, ci):
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    with pytest.raises(pytest.skip.Exception, match="dockerd is not installed"):
        missing_prerequisite("dockerd is not installed")
