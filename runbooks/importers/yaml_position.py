"""Which field a YAML syntax error sits in.

A syntax error stops PyYAML before any node exists, so the node walk that
locates every other problem has nothing to offer. The parser's event stream,
though, runs right up to the fault: replaying it and keeping the path of open
mappings and sequences gives the field being written when the text broke
(``phases[1].steps[0].owner``), which is what a person fixing the file needs.
"""

from __future__ import annotations

from dataclasses import dataclass

import yaml
from yaml.events import (
    AliasEvent,
    CollectionEndEvent,
    MappingStartEvent,
    NodeEvent,
    ScalarEvent,
    SequenceStartEvent,
)

from runbooks.importers.problems import Loc


@dataclass(slots=True)
class _Frame:
    is_mapping: bool
    index: int = -1  # sequences: the item being read
    key: str | int | None = None  # mappings: the key whose value is being read
    expecting_key: bool = True
    is_key: bool = False  # a collection used as a mapping key (YAML allows it; runbooks don't)

    def part(self) -> str | int | None:
        return self.index if not self.is_mapping else self.key


def field_at_error(text: str) -> Loc:
    """The path of the innermost field open when parsing ``text`` fails (``()`` if none)."""
    stack: list[_Frame] = []
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, NodeEvent | CollectionEndEvent):
                _advance(stack, event)
    except yaml.YAMLError:
        pass
    return tuple(part for frame in stack if (part := frame.part()) is not None)


def _advance(stack: list[_Frame], event: NodeEvent | CollectionEndEvent) -> None:
    if isinstance(event, CollectionEndEvent):
        if not stack.pop().is_key:
            _value_done(stack)
        return
    parent = stack[-1] if stack else None
    if parent is not None and parent.is_mapping and parent.expecting_key:
        # A key: scalars name the field; anything else (a complex key) is an unnamed entry.
        parent.key = event.value if isinstance(event, ScalarEvent) else None
        parent.expecting_key = False
        if isinstance(event, MappingStartEvent | SequenceStartEvent):
            stack.append(_Frame(is_mapping=isinstance(event, MappingStartEvent), is_key=True))
        return
    if parent is not None and not parent.is_mapping:
        parent.index += 1
    if isinstance(event, MappingStartEvent | SequenceStartEvent):
        stack.append(_Frame(is_mapping=isinstance(event, MappingStartEvent)))
    elif isinstance(event, ScalarEvent | AliasEvent):
        _value_done(stack)


def _value_done(stack: list[_Frame]) -> None:
    """A value is complete: its mapping now waits for the next key (the key stays as context)."""
    if stack and stack[-1].is_mapping:
        stack[-1].expecting_key = True
