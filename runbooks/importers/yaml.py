"""YAML text → ``RunbookSpec``, with every error located at a line and a field.

Only YAML's safe subset is accepted (SafeLoader: no Python tags). The document is
composed into nodes first, so that each mapping key and sequence item keeps the
line it was written on; pydantic's error ``loc`` is then mapped back to those
lines. Before anything is constructed from the nodes, aliases are bounded
(``yaml_aliases``) and every scalar is checked for text PostgreSQL cannot store
(a ``"\0"`` escape, a lone surrogate, ``!!binary`` bytes), each at its line.
Nothing here touches the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import ValidationError
from pydantic_core import ErrorDetails
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from common.text import unstorable
from runbooks.importers.limits import MAX_ALIAS_NODES
from runbooks.importers.problems import Loc, Locator, Problem, RunbookError, format_field
from runbooks.importers.yaml_aliases import AliasRecordingLoader, alias_overflow, field_of
from runbooks.importers.yaml_position import field_at_error
from runbooks.specs import RunbookSpec


@dataclass(frozen=True, slots=True)
class ParsedRunbook:
    spec: RunbookSpec
    locator: Locator


def parse_runbook(text: str, *, path: str) -> ParsedRunbook:
    """Parse one runbook file's text; raise ``RunbookError`` listing every problem."""
    data, locator, problems = _compose(text, path)
    if problems:
        raise RunbookError(problems)
    if data is None:
        raise RunbookError([Problem(path, 1, "", "the file is empty")])
    try:
        spec = RunbookSpec.model_validate(data)
    except ValidationError as exc:
        raise RunbookError(_problem_from_error(error, locator) for error in exc.errors()) from None
    return ParsedRunbook(spec=spec, locator=locator)


def _compose(text: str, path: str) -> tuple[Any, Locator, list[Problem]]:
    loader = AliasRecordingLoader(text)
    try:
        node = loader.get_single_node()
        lines: dict[Loc, int] = {}
        problems: list[Problem] = []
        if node is not None:
            _walk(node, (), lines, problems, path, set())
        if node is not None and (overflow := alias_overflow(loader.alias_uses, MAX_ALIAS_NODES)):
            use, message = overflow
            field = format_field(field_of(node, use))
            return None, Locator(path, lines), [Problem(path, use.line, field, message)]
        if problems:
            return None, Locator(path, lines), problems
        # Constructed from the same nodes, so data and line map cannot disagree.
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        return None, Locator(path, {}), [_syntax_problem(exc, text, path)]
    except yaml.YAMLError as exc:  # ReaderError: a character YAML does not allow
        position = getattr(exc, "position", 0)
        line = text.count("\n", 0, position) + 1
        return None, Locator(path, {}), [Problem(path, line, "", f"invalid YAML: {exc}")]
    except RecursionError:  # PyYAML composes recursively; absurd nesting must not crash
        return None, Locator(path, {}), [Problem(path, 1, "", "invalid YAML: nested too deeply")]
    finally:
        loader.dispose()
    return data, Locator(path, lines), problems


def _syntax_problem(exc: yaml.MarkedYAMLError, text: str, path: str) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark is not None else 1
    message = f"invalid YAML: {exc.problem or 'syntax error'}"
    if exc.context and exc.context_mark is not None:
        message += f" ({exc.context} at line {exc.context_mark.line + 1})"
    return Problem(path, line, format_field(field_at_error(text)), message)


def _walk(
    node: Node,
    loc: Loc,
    lines: dict[Loc, int],
    problems: list[Problem],
    path: str,
    seen: set[int],
) -> None:
    """Record the line of every key and item below ``node``.

    A node reached twice through YAML aliases is walked once: its fields are
    then located at the alias, and an alias "bomb" costs linear time.
    """
    if id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, ScalarNode):
        if problem := _scalar_problem(node):
            problems.append(Problem(path, node.start_mark.line + 1, format_field(loc), problem))
    elif isinstance(node, MappingNode):
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                continue  # complex keys are refused by the schema anyway
            key, line = key_node.value, key_node.start_mark.line + 1
            if problem := _scalar_problem(
                key_node
            ):  # located at the mapping: the key is unprintable
                problems.append(Problem(path, line, format_field(loc), problem))
                continue
            if key in first_line:
                # PyYAML would silently keep the last value; a repeated key is a mistake.
                message = f"duplicate key {key!r} (first at line {first_line[key]})"
                problems.append(Problem(path, line, format_field((*loc, key)), message))
                continue
            first_line[key] = line
            lines[(*loc, key)] = line
            _walk(value_node, (*loc, key), lines, problems, path, seen)
    elif isinstance(node, SequenceNode):
        for index, item in enumerate(node.value):
            lines[(*loc, index)] = item.start_mark.line + 1
            _walk(item, (*loc, index), lines, problems, path, seen)


def _scalar_problem(node: ScalarNode) -> str | None:
    if node.tag == "tag:yaml.org,2002:binary":
        return "binary (!!binary) values are not accepted; write text"
    return unstorable(node.value)


def _problem_from_error(error: ErrorDetails, locator: Locator) -> Problem:
    message = error["msg"]
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    value = error.get("input")
    # Our own validators already quote the values they judge; pydantic's stock
    # messages ("String should match pattern ...") do not, so show the input.
    is_stock = error["type"] not in ("missing", "value_error", "assertion_error")
    if is_stock and isinstance(value, str | int | float) and value != "":
        shown = repr(value)
        message += f" (got {shown[:60]}{'…' if len(shown) > 60 else ''})"
    return locator.problem(error["loc"], message)
