from __future__ import annotations

import pytest

from demo.serve import parse_addr, public_url


@pytest.mark.parametrize(
    ("addr", "expected"),
    [
        ("127.0.0.1:8000", ("127.0.0.1", 8000)),
        ("0.0.0.0:80", ("0.0.0.0", 80)),
        ("[::1]:8080", ("::1", 8080)),
        ("9000", ("127.0.0.1", 9000)),
        (":9000", ("127.0.0.1", 9000)),
    ],
)
def test_parse_addr_accepts_host_port_forms(addr, expected):
    assert parse_addr(addr) == expected


@pytest.mark.parametrize("addr", ["", "localhost", "localhost:http", "h:0", "h:70000"])
def test_parse_addr_rejects_bad_addresses(addr):
    with pytest.raises(ValueError, match="host:port"):
        parse_addr(addr)


def test_public_url_shows_reachable_address():
    assert public_url("0.0.0.0", 8000) == "http://127.0.0.1:8000"
    assert public_url("::1", 8000) == "http://[::1]:8000"
    assert public_url("ripcord.local", 80) == "http://ripcord.local:80"
