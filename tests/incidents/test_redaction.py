"""The byte-stream redactor: whatever the cuts, the result is that of redacting the whole.

The reference is a plain scan of the whole output (leftmost match, the longest secret where
several start at the same byte); the redactor, fed the same bytes in pieces, must agree with
it for every way of cutting them.
"""

from __future__ import annotations

import itertools
import random

from incidents.redaction import Redactor, StreamRedactor
from runbooks.executors.base import Outcome


def reference(secrets: dict[str, str], data: bytes) -> bytes:
    forms = sorted(
        ((value.encode(), f"[secret:{name}]".encode()) for name, value in sorted(secrets.items())),
        key=lambda form: -len(form[0]),
    )
    out, i = bytearray(), 0
    while i < len(data):
        for value, mark in forms:
            if value and data.startswith(value, i):
                out += mark
                i += len(value)
                break
        else:
            out.append(data[i])
            i += 1
    return bytes(out)


def fed(secrets: dict[str, str], pieces: list[bytes]) -> bytes:
    redactor = Redactor(secrets).stream()
    return b"".join(redactor.feed(piece) for piece in pieces) + redactor.finish()


def cuts(data: bytes, *at: int) -> list[bytes]:
    bounds = [0, *at, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


def test_redactor_catches_a_secret_split_at_every_offset():
    secrets = {"TOKEN": "tok-3f9a", "PASSWORD": "pässwörd"}  # ö, ä: split inside a character too
    data = "start tok-3f9a then pässwörd, tok-3f9a again\n".encode()
    expected = b"start [secret:TOKEN] then [secret:PASSWORD], [secret:TOKEN] again\n"
    assert reference(secrets, data) == expected
    for i in range(len(data) + 1):
        assert fed(secrets, cuts(data, i)) == expected, f"cut at {i}"


def test_redactor_agrees_with_the_whole_for_every_pair_of_cuts():
    secrets = {"A": "abcd", "B": "cdxy", "C": "bc"}
    data = b"-abcdxy-cdxy-abc-bcd-abcdxyab"
    expected = reference(secrets, data)
    for i, j in itertools.combinations_with_replacement(range(len(data) + 1), 2):
        assert fed(secrets, cuts(data, i, j)) == expected, f"cuts at {i}, {j}"


def test_redactor_agrees_with_the_whole_fed_byte_by_byte():
    secrets = {"KEY": "k\ney", "K": "k"}
    data = b"k\nek\ney kk\n\ney"
    assert fed(secrets, [data[i : i + 1] for i in range(len(data))]) == reference(secrets, data)


def test_redactor_agrees_with_the_whole_on_random_output_and_cuts():
    # A tiny alphabet makes overlaps, repeats and near-misses common; the seed keeps it fixed.
    rng = random.Random(20261201)
    secrets = {"ONE": "aba", "TWO": "ab\nb", "THREE": "bb", "FOUR": "abab\na"}
    for _ in range(300):
        data = bytes(rng.choice(b"ab\n") for _ in range(rng.randint(0, 40)))
        at = sorted(rng.randint(0, len(data)) for _ in range(rng.randint(0, 5)))
        assert fed(secrets, cuts(data, *at)) == reference(secrets, data), (data, at)


def test_redactor_takes_overlapping_secrets_leftmost_first():
    secrets = {"LEFT": "abcd", "RIGHT": "cdef"}
    data = b"xabcdefx"
    expected = b"x[secret:LEFT]efx"  # the left one starts first; the right one lost its "cd"
    for i in range(len(data) + 1):
        assert fed(secrets, cuts(data, i)) == expected


def test_redactor_prefers_the_longer_of_two_secrets_that_start_alike():
    secrets = {"SHORT": "abc", "LONG": "abcdef"}
    data = b"abcdef abc abcde abcdef"
    expected = b"[secret:LONG] [secret:SHORT] [secret:SHORT]de [secret:LONG]"
    for i in range(len(data) + 1):
        assert fed(secrets, cuts(data, i)) == expected, f"cut at {i}"


def test_redactor_holds_back_only_what_may_still_become_a_secret():
    redactor = StreamRedactor({"TOKEN": "world!"})
    assert redactor.feed(b"plain text") == b"plain text"  # nothing that starts a secret
    assert redactor.feed(b"hello wor") == b"hello "  # "wor" may become "world!"
    assert redactor.feed(b"ds") == b"words"  # it did not
    assert redactor.feed(b"w") == b""
    assert redactor.feed(b"orld!") == b"[secret:TOKEN]"
    assert redactor.feed(b" wo") == b" "
    assert redactor.finish() == b"wo"  # at the end a prefix is only output


def test_redactor_waits_when_a_whole_secret_may_be_the_start_of_a_longer_one():
    redactor = StreamRedactor({"SHORT": "abc", "LONG": "abcdef"})
    assert redactor.feed(b"abc") == b""
    assert redactor.finish() == b"[secret:SHORT]"


def test_redactor_never_holds_more_than_a_secret_long():
    secret = "-----BEGIN KEY-----\n" + "Q" * 3000 + "\n-----END KEY-----"
    redactor = StreamRedactor({"KEY": secret})
    out = redactor.feed(b"x" * 1_000_000 + secret.encode()[:-1])
    assert len(out) == 1_000_000  # the unfinished key is held, and only it
    assert redactor.feed(b"-") == b"[secret:KEY]"


def test_redactor_matches_a_multi_line_secret_whole_with_either_line_end():
    key = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg\nkqhkiG9w0BAQEF\n-----END PRIVATE KEY-----"
    data = (
        b"key:\n" + key.encode() + b"\nand through a terminal:\r\n"
        b"" + key.replace("\n", "\r\n").encode() + b"\r\nend"
    )
    expected = b"key:\n[secret:TLS_KEY]\nand through a terminal:\r\n[secret:TLS_KEY]\r\nend"
    for i in range(len(data) + 1):
        assert fed({"TLS_KEY": key}, cuts(data, i)) == expected, f"cut at {i}"


def test_redactor_text_and_outcome_redact_whole_strings():
    redact = Redactor({"PASSWORD": "pässwörd"})
    assert redact.text("née pässwörd ü") == "née [secret:PASSWORD] ü"
    outcome = Outcome(
        False,
        exit_code=1,
        summary="saw 'pässwörd'",
        evidence={"rows": [["pässwörd", 1, None]], "pässwörd": True, "n": 2},
    )
    assert redact.outcome(outcome) == Outcome(
        False,
        exit_code=1,
        summary="saw '[secret:PASSWORD]'",
        evidence={"rows": [["[secret:PASSWORD]", 1, None]], "[secret:PASSWORD]": True, "n": 2},
    )


def test_redactor_without_secrets_passes_everything_at_once():
    redactor = StreamRedactor({"EMPTY": ""})
    assert redactor.feed(b"any\x00thing\r") == b"any\x00thing\r"
    assert redactor.finish() == b""


def test_redactor_text_agrees_with_the_stream_on_random_values():
    # text() scans the whole value at once, not through a stream: it must still agree.
    rng = random.Random(20261202)
    secrets = {"ONE": "aba", "TWO": "ab\nb", "THREE": "bb", "FOUR": "abab\na"}
    redact = Redactor(secrets)
    for _ in range(300):
        value = "".join(rng.choice("ab\n") for _ in range(rng.randint(0, 40)))
        assert redact.text(value).encode() == reference(secrets, value.encode()), value


def test_redactor_evidence_and_summary_are_storable_without_secrets():
    redact = Redactor({})
    assert redact.summary("a\x00b") == "a\ufffdb"
    assert redact.evidence({"k\x00": ["\x00", 1, None, True]}) == {
        "k\ufffd": ["\ufffd", 1, None, True]
    }
