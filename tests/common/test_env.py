from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_choice, env_int, env_list, env_str


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1", True),
        ("true", True),
        (" YES ", True),
        ("on", True),
        ("0", False),
        ("off", False),
        ("", False),
    ],
)
def test_env_bool_reads_accepted_spellings(monkeypatch, raw, expected):
    monkeypatch.setenv("DEBUG", raw)
    assert env_bool("DEBUG") is expected


def test_env_bool_uses_default_when_unset(monkeypatch):
    monkeypatch.delenv("DEBUG", raising=False)
    assert env_bool("DEBUG", default=True) is True


@pytest.mark.parametrize("raw", ["maybe", "2", "yes please", "tru"])
def test_env_bool_fails_loudly_on_bad_value(monkeypatch, raw):
    monkeypatch.setenv("DEBUG", raw)
    with pytest.raises(ImproperlyConfigured, match=r"DEBUG must be a boolean"):
        env_bool("DEBUG")


def test_env_int_parses_and_defaults(monkeypatch):
    monkeypatch.setenv("N", "42")
    assert env_int("N", 7) == 42
    monkeypatch.setenv("N", " ")
    assert env_int("N", 7) == 7


@pytest.mark.parametrize("raw", ["ten", "1.5", "0x10"])
def test_env_int_fails_loudly_on_non_integer(monkeypatch, raw):
    monkeypatch.setenv("N", raw)
    with pytest.raises(ImproperlyConfigured, match=r"N must be an integer"):
        env_int("N", 7)


def test_env_int_fails_loudly_below_minimum(monkeypatch):
    monkeypatch.setenv("N", "3")
    with pytest.raises(ImproperlyConfigured, match=r"N must be >= 10"):
        env_int("N", 20, minimum=10)


def test_env_list_splits_and_trims(monkeypatch):
    monkeypatch.setenv("HOSTS", " a.example , ,b.example,")
    assert env_list("HOSTS", ["x"]) == ["a.example", "b.example"]
    monkeypatch.delenv("HOSTS")
    assert env_list("HOSTS", ["x"]) == ["x"]


def test_env_choice_fails_loudly_outside_choices(monkeypatch):
    monkeypatch.setenv("LEVEL", "LOUD")
    with pytest.raises(ImproperlyConfigured, match=r"LEVEL must be one of"):
        env_choice("LEVEL", "INFO", {"INFO", "DEBUG"})


def test_env_str_defaults_only_when_unset(monkeypatch):
    monkeypatch.delenv("S", raising=False)
    assert env_str("S", "d") == "d"
    monkeypatch.setenv("S", "")
    assert env_str("S", "d") == ""
