"""Words that carry meaning, lightly stemmed, for matching titles and roles to each other."""

from __future__ import annotations

import re

_WORD = re.compile(r"[a-z0-9]+")


def word_set(text: str) -> frozenset[str]:
    """The whitespace-separated words of ``text`` (word lists are written as one string)."""
    return frozenset(text.split())


STOPWORDS = word_set(
    """
    a an and are as at be by for from has have if in into is it its of on or our step steps
    that the their then this to up was we when which will with you your all any not no do
    """
)
_SUFFIXES = (
    "ations", "ation", "ments", "ment", "ings", "ing", "ions", "ion", "ates", "ate", "ers",
    "er", "ed", "es", "s", "e",
)  # fmt: skip


def stem(word: str) -> str:
    """``monitoring`` → ``monitor``, ``restoration`` and ``restore`` → ``restor``."""
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def significant_words(text: str) -> frozenset[str]:
    """Stems of the words of ``text`` that are not stop words (numbers dropped)."""
    return frozenset(
        stem(word)
        for word in _WORD.findall(text.lower())
        if word not in STOPWORDS and not word.isdigit()
    )
