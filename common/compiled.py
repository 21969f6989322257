"""Hot reads whose SQL is compiled once: a queryset built per call, its SQL only once.

Django compiles a queryset's SQL every time it is evaluated. For the reads a tick
makes (a step with its incident, runbook version and runbook; the running phase; the
pending steps) compiling costs 1.5-2 ms of CPU per query on a 2-core machine, more
than PostgreSQL takes to answer it, and a tick made ~25 of them (bench/README.md,
"Compiled reads").

``Compiled(build)`` calls ``build`` once with placeholder arguments, compiles that
queryset and remembers its SQL, where each argument's placeholder sits among the
parameters, and the compiler's column map. Each later call substitutes the real
arguments and lets Django's own iterable make the rows, so ``select_related``,
``defer``, ``values_list``, annotations, converters and ``prefetch_related`` behave
exactly as with the plain queryset (tests/common/test_compiled.py compares the two).

Arguments are ints, strs, aware datetimes, or lists of ints (one compiled shape per
length). A queryset whose placeholders cannot be found once each among its parameters
(a lookup that rewrites its value, an empty list) is not cached: it runs as it is,
every call.
With ``VERIFY`` on (the test suite turns it on) every call also compiles the plain
queryset and fails loudly if the two SQL texts or parameters differ, which is how a
``build`` that reads anything but its arguments (the clock, a setting) is caught.
"""

from __future__ import annotations

import copy
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import Prefetch, QuerySet

T = TypeVar("T")
Arg = int | str | datetime | Sequence[int]

VERIFY = False  # compare each call with a fresh compile (tests/conftest.py turns it on)

# Placeholders no real argument is: distinct and negative, yet inside a 32-bit integer
# field's range (Django answers "no rows" without SQL for a value outside it).
_BASE = -2_100_000_000
_SPACING = 1_000_000  # between two arguments' placeholders: lists stay below it
MAX_LIST = 64  # longer lists are not cached: a plan per length must stay few and small
_INT64 = range(-(2**63), 2**63)  # Django answers "no rows" outside a column's range
_EPOCH = datetime(1901, 2, 3, 4, 5, 6, tzinfo=UTC)


class CompiledMismatch(AssertionError):
    """The cached SQL is not what Django compiles for these arguments."""


@dataclass(frozen=True)
class _Plan:
    queryset: QuerySet[Any]  # built from the placeholders; never evaluated itself
    compiler: Any  # its compiler after as_sql(): select, klass_info, column maps
    sql: str
    params: tuple[Any, ...]
    slots: tuple[tuple[int, int, int | None], ...]  # (param index, argument, list item)
    converters: dict[int, Any]  # the columns' from-database converters, found once


class Compiled(Generic[T]):
    """``Compiled(lambda step_id: Step.objects.filter(pk=step_id))(7)`` → a list of rows."""

    def __init__(self, build: Callable[..., QuerySet[Any]]) -> None:
        self.build = build
        self._plans: dict[tuple[Any, ...], _Plan | None] = {}
        self._lock = threading.Lock()

    def __call__(self, *args: Arg, using: str = "default") -> list[T]:
        # A list's items once each, as Django's ``__in`` keeps them; one plan per length.
        args = tuple(
            list(dict.fromkeys(a)) if isinstance(a, list | tuple | set) else a for a in args
        )
        if not _cacheable(args):
            return list(self.build(*args).using(using))
        shape = (using, *(len(a) if isinstance(a, list) else type(a) for a in args))
        if shape in self._plans:
            plan = self._plans[shape]
        else:
            with self._lock:
                if shape not in self._plans:
                    self._plans[shape] = _prepare(self.build, args, using)
                plan = self._plans[shape]
        if plan is None:
            return list(self.build(*args).using(using))
        params = _substitute(plan, args)
        if VERIFY:
            _verify(self.build(*args).using(using), plan.sql, params)
        return list(_replay(plan, params, using))

    def first(self, *args: Arg, using: str = "default") -> T | None:
        rows = self(*args, using=using)
        return rows[0] if rows else None


def _cacheable(args: Sequence[Arg]) -> bool:
    """Whether these arguments may use a plan: an int past 64 bits (Django answers no rows
    without asking; SQLite would overflow) or a long list runs as Django builds it."""
    for arg in args:
        if isinstance(arg, int) and not isinstance(arg, bool) and arg not in _INT64:
            return False
        if isinstance(arg, list) and (len(arg) > MAX_LIST or any(v not in _INT64 for v in arg)):
            return False
    return True


def _placeholders(args: Sequence[Arg]) -> list[Arg]:
    out: list[Arg] = []
    for i, arg in enumerate(args):
        if isinstance(arg, bool) or not isinstance(arg, int | str | datetime | list | tuple | set):
            raise TypeError(f"Compiled takes ints, strs, datetimes, lists of ints: {type(arg)}")
        if isinstance(arg, int):
            out.append(_BASE - i * _SPACING)
        elif isinstance(arg, datetime):
            out.append(_EPOCH + timedelta(microseconds=i + 1))
        elif isinstance(arg, str):
            out.append(f"\x1ecompiled-{i}\x1e")
        else:
            out.append([_BASE - i * _SPACING - j - 1 for j in range(len(arg))])
    return out


def _prepare(build: Callable[..., QuerySet[Any]], args: Sequence[Arg], using: str) -> _Plan | None:
    marks = _placeholders(args)
    if any(isinstance(m, list) and not m for m in marks):
        return None  # an empty list compiles to no SQL at all
    queryset = build(*marks).using(using)
    compiler = queryset.query.get_compiler(using=using)
    try:
        sql, params = compiler.as_sql()
    except EmptyResultSet:
        return None
    where: dict[Any, tuple[int, int | None]] = {}
    for i, mark in enumerate(marks):
        if isinstance(mark, list):
            where.update({m: (i, j) for j, m in enumerate(mark)})
        else:
            where[mark] = (i, None)
    slots = [
        (index, *where[value])
        for index, value in enumerate(params)
        if isinstance(value, int | str | datetime)
        and not isinstance(value, bool)
        and value in where
    ]
    # Each placeholder exactly once: one rewritten (LIKE's '%x%') or used twice is not
    # safe to substitute by position.
    if Counter((arg, item) for _, arg, item in slots) != Counter(where.values()):
        return None
    columns = [s[0] for s in compiler.select[0 : compiler.col_count]]
    converters = compiler.get_converters(columns)
    return _Plan(queryset, compiler, sql, tuple(params), tuple(slots), converters)


def _substitute(plan: _Plan, args: Sequence[Arg]) -> tuple[Any, ...]:
    params = list(plan.params)
    for index, arg, item in plan.slots:
        value = args[arg]
        params[index] = value if item is None else value[item]  # type: ignore[index]
    return tuple(params)


def _replay(plan: _Plan, params: tuple[Any, ...], using: str) -> QuerySet[Any]:
    """The plan's queryset, whose compiler answers with the cached SQL and these params."""
    compiler = copy.copy(plan.compiler)
    compiler.connection = connections[using]  # this thread's connection, not the planner's
    compiler.as_sql = lambda *a, **k: (plan.sql, params)
    compiler.get_converters = lambda expressions: plan.converters
    queryset: QuerySet[Any] = plan.queryset.all()  # a copy, with a query of its own
    # Prefetches of its own too: Django writes hints on a Prefetch's queryset as it runs.
    queryset._prefetch_related_lookups = tuple(  # type: ignore[attr-defined]
        _fresh_prefetch(p)
        for p in queryset._prefetch_related_lookups  # type: ignore[attr-defined]
    )
    setattr(queryset.query, "get_compiler", lambda *a, **k: compiler)  # noqa: B010
    return queryset


def _fresh_prefetch(lookup: Any) -> Any:
    if not isinstance(lookup, Prefetch) or lookup.queryset is None:
        return lookup
    fresh = copy.copy(lookup)
    fresh.queryset = lookup.queryset.all()
    return fresh


def _verify(queryset: QuerySet[Any], sql: str, params: tuple[Any, ...]) -> None:
    fresh_sql, fresh_params = queryset.query.get_compiler(using=queryset.db).as_sql()
    if fresh_sql != sql or tuple(fresh_params) != params:
        raise CompiledMismatch(
            f"cached {sql!r} {params!r} != compiled {fresh_sql!r} {tuple(fresh_params)!r}"
        )
