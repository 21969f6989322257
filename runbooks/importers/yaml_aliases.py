"""How much YAML aliases add to a document, and where they add too much.

An alias (``*name``) stands for the whole value its anchor (``&name``) marks. PyYAML
composes and constructs an aliased value once and shares it, so parsing a
"billion laughs" file is quick; but whatever walks the result as plain data
afterwards (pydantic dumping the spec to store it, JSON encoding) expands every
alias, and ten lines become a billion strings. So the parser counts, per alias
used, the values it stands for once expanded, and refuses the file at the alias
whose running total crosses ``MAX_ALIAS_NODES``, before constructing anything.
An alias inside the value it refers to (``&a [*a]``) would expand forever.
"""

from __future__ import annotations

from dataclasses import dataclass

import yaml
from yaml.events import AliasEvent
from yaml.nodes import CollectionNode, MappingNode, Node, ScalarNode

from runbooks.importers.problems import Loc


@dataclass(frozen=True, slots=True)
class AliasUse:
    line: int  # where ``*name`` is written
    node: Node  # the value it stands for
    parent: Node | None  # the collection it is written in
    index: object  # its place there: a sequence index, or the key node of a mapping value


class AliasRecordingLoader(yaml.SafeLoader):
    """PyYAML's safe loader, noting each alias used, where, and what it stands for."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.alias_uses: list[AliasUse] = []

    def compose_node(self, parent: Node | None, index: object) -> Node | None:
        line = None
        if self.check_event(AliasEvent):
            line = self.peek_event().start_mark.line + 1  # type: ignore[no-untyped-call]
        node = super().compose_node(parent, index)  # type: ignore[arg-type]
        if line is not None and node is not None:
            self.alias_uses.append(AliasUse(line, node, parent, index))
        return node


def alias_overflow(uses: list[AliasUse], limit: int) -> tuple[AliasUse, str] | None:
    """The first alias use that takes expansion past ``limit``, and why; or None."""
    sizes: dict[int, int] = {}
    total = 0
    for use in uses:
        size = _expanded_size(use.node, sizes, set(), limit)
        if size is None:
            return use, "a YAML alias here refers to a value that contains it"
        total += size
        if total > limit:
            return use, (
                f"YAML aliases here expand the file past {limit:,} values "
                "(an alias bomb?); write the values out, or alias less"
            )
    return None


def field_of(root: Node, use: AliasUse) -> Loc:
    """The field an alias is written in (``json.lol4[7]``), found by walking from the root.

    Only asked for the one alias a problem is reported at, so the walk is worth it.
    """
    if use.parent is None or (parent_loc := _loc_of(root, use.parent)) is None:
        return ()
    if isinstance(use.index, int):
        return (*parent_loc, use.index)
    if isinstance(use.index, ScalarNode):
        return (*parent_loc, use.index.value)
    return parent_loc


def _loc_of(root: Node, target: Node) -> Loc | None:
    """The first path (depth first, as the line map is built) from ``root`` to ``target``."""
    stack: list[tuple[Node, Loc]] = [(root, ())]
    seen: set[int] = set()
    while stack:
        node, loc = stack.pop()
        if node is target:
            return loc
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, MappingNode):
            entries = [(v, k.value) for k, v in node.value if isinstance(k, ScalarNode)]
        elif isinstance(node, CollectionNode):
            entries = [(item, i) for i, item in enumerate(node.value)]
        else:
            continue
        stack += [(child, (*loc, part)) for child, part in reversed(entries)]
    return None


def _expanded_size(node: Node, sizes: dict[int, int], open_: set[int], cap: int) -> int | None:
    """Values in ``node`` with every alias expanded (at most cap + 1); None if it contains itself.

    Memoised per node, so a document costs time linear in its nodes, however it aliases.
    """
    key = id(node)
    if key in sizes:
        return sizes[key]
    if key in open_:
        return None
    if not isinstance(node, CollectionNode):
        return 1
    open_.add(key)
    children: list[Node] = (
        [part for pair in node.value for part in pair]
        if isinstance(node, MappingNode)
        else list(node.value)
    )
    total = 1
    for child in children:
        size = _expanded_size(child, sizes, open_, cap)
        if size is None:
            return None
        total = min(total + size, cap + 1)
    open_.discard(key)
    sizes[key] = total
    return total
