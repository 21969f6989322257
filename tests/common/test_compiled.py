"""Compiled reads give exactly what the plain queryset gives, and compile once."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.db.models import Q, TextField
from django.db.models.functions import Cast
from django.db.models.sql import compiler as sql_compiler
from django.test.utils import CaptureQueriesContext

from common import compiled
from common.compiled import Compiled, CompiledMismatch
from incidents.models import IncidentRole, Step

pytestmark = pytest.mark.django_db(transaction=True)


def _step_with_incident(step_id: int, incident_id: int):
    return (
        Step.objects.select_related("incident__runbook_version__runbook", "state_changed_by")
        .defer("incident__runbook_version__spec")
        .filter(pk=step_id, incident_id=incident_id)[:1]
    )


def _pending(incident_id: int, state: str):
    return (
        Step.objects.filter(incident_id=incident_id, state=state)
        .order_by("phase__position", "position")
        .values_list("pk", "key", Cast("requires", TextField()))
    )


def _fields(step: Step) -> dict[str, object]:
    return {f.attname: getattr(step, f.attname) for f in Step._meta.concrete_fields}


def test_a_step_with_its_incident_is_the_same_row_as_the_plain_queryset(incident, step):
    read = Compiled[Step](_step_with_incident)
    for key in ("disable-v1", "stop-writes", "restore"):
        wanted = _step_with_incident(step(key).pk, incident.pk).get()
        got = read.first(step(key).pk, incident.pk)
        assert got is not None
        assert _fields(got) == _fields(wanted)
        assert got.incident.title == incident.title  # the joined rows came with it
        assert (
            got.incident.runbook_version.runbook.slug
            == wanted.incident.runbook_version.runbook.slug
        )
        assert "spec" in got.incident.runbook_version.get_deferred_fields()
    assert read.first(step("restore").pk, incident.pk + 1000) is None  # another incident: none


def test_sql_is_compiled_once_and_each_call_reads_its_own_arguments(incident, step, monkeypatch):
    read = Compiled[Step](_step_with_incident)
    read.first(step("disable-v1").pk, incident.pk)
    pks = [step(key).pk for key in ("stop-writes", "restore")]
    compiles: list[object] = []
    original = sql_compiler.SQLCompiler.as_sql

    def counting(self, *args, **kwargs):
        compiles.append(self)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(sql_compiler.SQLCompiler, "as_sql", counting)
    with CaptureQueriesContext(connection) as queries:
        got = [read.first(pk, incident.pk) for pk in pks]
    assert [s.key for s in got if s] == ["stop-writes", "restore"]
    assert len(compiles) == (2 if compiled.VERIFY else 0)  # VERIFY compiles to compare
    assert len(queries) == 2


def test_values_list_and_strings_are_substituted(incident):
    read = Compiled[tuple[int, str, str]](_pending)
    assert read(incident.pk, Step.State.PENDING) == list(_pending(incident.pk, "pending"))
    Step.objects.filter(incident=incident, key="disable-v1").update(state=Step.State.DONE)
    assert read(incident.pk, "pending") == list(_pending(incident.pk, "pending"))
    assert [row[1] for row in read(incident.pk, "done")] == ["disable-v1"]


def test_a_list_argument_compiles_once_per_length_and_prefetches_as_usual(incident, step):
    def roles(incident_id: int, keys: list[int]):
        return (
            IncidentRole.objects.filter(incident_id=incident_id, pk__in=keys)
            .prefetch_related("assignments__user")
            .order_by("pk")
        )

    read = Compiled[IncidentRole](roles)
    every = list(IncidentRole.objects.filter(incident=incident).order_by("pk"))
    assert len(every) >= 2
    for keys in ([every[0].pk], [r.pk for r in every], [every[-1].pk]):
        got = read(incident.pk, keys)
        assert [r.pk for r in got] == keys
        plain = list(roles(incident.pk, keys))
        assert [[a.user.username for a in r.assignments.all()] for r in got] == [
            [a.user.username for a in r.assignments.all()] for r in plain
        ]
    assert read(incident.pk, []) == []  # no SQL for an empty list: not cached, still right
    twice = read(incident.pk, [every[0].pk, every[0].pk])  # once each, as Django's __in
    assert [r.pk for r in twice] == [every[0].pk]


def test_a_build_that_reads_more_than_its_arguments_is_caught(incident, monkeypatch):
    monkeypatch.setattr(compiled, "VERIFY", True)
    outside = {"key": "disable-v1"}
    read = Compiled[Step](
        lambda incident_id: Step.objects.filter(incident_id=incident_id, key=outside["key"])
    )
    assert [s.key for s in read(incident.pk)] == ["disable-v1"]
    outside["key"] = "restore"
    with pytest.raises(CompiledMismatch):
        read(incident.pk)


def test_a_rewritten_argument_is_not_cached_and_still_right(incident):
    read = Compiled[Step](lambda word: Step.objects.filter(title__icontains=word).order_by("pk"))
    assert [s.key for s in read("write op")] == ["stop-writes"]
    assert [s.key for s in read("backup")] == ["restore"]
    assert list(read._plans.values()) == [None]  # '%word%' is not the placeholder: not cached


def test_threads_use_their_own_connections(incident, step):
    read = Compiled[Step](_step_with_incident)
    read.first(step("restore").pk, incident.pk)  # planned on this thread
    seen: list[object] = []

    def other() -> None:
        from django.db import connections

        try:
            got = read.first(step("smoke").pk, incident.pk)
            seen.append(got.key if got else None)
        finally:
            connections.close_all()

    thread = threading.Thread(target=other)
    thread.start()
    thread.join(timeout=30)
    assert seen == ["smoke"]


def test_only_ints_strs_and_lists_of_ints_are_taken():
    read = Compiled[Step](lambda flag: Step.objects.filter(is_optional=flag))
    with pytest.raises(TypeError):
        read(True)


def test_an_argument_used_twice_is_not_cached_and_still_right(incident, step):
    read = Compiled[Step](
        lambda n: Step.objects.filter(Q(incident_id=n) | Q(phase__incident_id=n)).order_by("pk")
    )
    assert [s.pk for s in read(incident.pk)] == list(
        incident.steps.order_by("pk").values_list("pk", flat=True)
    )
    assert list(read._plans.values()) == [None]


def test_long_lists_and_huge_ints_run_as_django_builds_them(incident, monkeypatch):
    monkeypatch.setattr(compiled, "VERIFY", False)  # the path production takes
    read = Compiled[Step](
        lambda incident_id, ids: Step.objects.filter(incident_id=incident_id, pk__in=ids).order_by(
            "pk"
        )
    )
    pks = list(incident.steps.order_by("pk").values_list("pk", flat=True))
    many = [*range(10**6, 10**6 + 1000), *pks]  # 1,000 ids that are no step's, then the steps
    assert [s.pk for s in read(incident.pk, many)] == pks
    assert read._plans == {}  # not planned: longer than MAX_LIST
    assert read(incident.pk, [2**70]) == []  # no row has it; no overflow, no plan
    assert read(2**70, pks) == []
    assert [s.pk for s in read(incident.pk, pks[:2])] == pks[:2]
    assert [s.pk for s in read(incident.pk, pks[1:3])] == pks[1:3]  # the same plan, reused
    assert len(read._plans) == 1


def test_without_verify_the_replay_gives_the_plain_rows(incident, step, monkeypatch):
    monkeypatch.setattr(compiled, "VERIFY", False)
    read = Compiled[Step](_step_with_incident)
    for key in ("disable-v1", "stop-writes", "restore", "smoke"):
        got = read.first(step(key).pk, incident.pk)
        wanted = _step_with_incident(step(key).pk, incident.pk).get()
        assert got is not None and _fields(got) == _fields(wanted)
    assert len(read._plans) == 1
