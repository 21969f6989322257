"""Every URL, API endpoint and the websocket, against the permission matrix (DESIGN.md).

The matrix is tests/permissions_matrix.py. A URL pattern it does not cover (and
that is not exempted there, with a reason) fails ``test_every_url_is_in_the_matrix``,
so a new endpoint cannot ship without saying who may use it.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth.models import AnonymousUser, Group, User
from django.db import connections
from django.http.response import HttpResponseBase
from django.shortcuts import resolve_url
from django.test import Client
from django.urls import get_resolver, reverse

from common.capabilities import RESPONDERS, VIEWERS
from common.models import ApiToken
from common.routing import websocket_urlpatterns as notify_urlpatterns
from common.tokens import create_token
from incidents import access, events, services, tasks
from incidents.execution.logsink import LogSink
from incidents.models import Incident, RoleAssignment, Step, StepRun, TimelineEntry
from incidents.redaction import Redactor
from incidents.routing import websocket_urlpatterns
from incidents.services import runs
from tests.factories import make_user, make_version
from tests.permissions_matrix import (
    ACTORS,
    ENDPOINTS,
    LOG_LINE,
    NOBODY,
    PERMS_RUNBOOK,
    WEBSOCKETS,
    Actor,
    Case,
    Endpoint,
    Outcome,
    World,
    case_id,
    is_exempt,
    iter_url_patterns,
    sample_path,
)

CASES = [(endpoint, actor) for endpoint in ENDPOINTS for actor in ACTORS]
CASE_IDS = [case_id(endpoint, actor) for endpoint, actor in CASES]


@pytest.fixture
def version(db):
    """Overrides conftest's: the small runbook plus the steps the matrix needs."""
    return make_version(PERMS_RUNBOOK)


def _recorded(monkeypatch, task) -> list[int]:
    """The first argument (an id) of each send of ``task``; no broker is involved."""
    ids: list[int] = []

    def apply_async(args: tuple[int], kwargs: Any = None, **options: Any) -> None:
        ids.append(args[0])

    monkeypatch.setattr(task, "apply_async", apply_async)
    return ids


@pytest.fixture
def dispatched(monkeypatch) -> list[int]:
    """Run ids handed to Celery."""
    return _recorded(monkeypatch, tasks.execute_step_run_task)


@pytest.fixture
def preflights(monkeypatch) -> list[int]:
    """Incident ids whose pre-flight checks were queued."""
    return _recorded(monkeypatch, tasks.run_preflight_task)


@pytest.fixture(scope="module")
def shared_client() -> Client:
    """One test client for the module's cases.

    Each new client loads the middleware again, and WhiteNoise then walks every
    static file: most of a case's time. Cookies are cleared before each case.
    """
    return Client()


@pytest.fixture
def fresh_client(shared_client: Client) -> Client:
    shared_client.cookies.clear()  # signed out: no session from the previous case
    return shared_client


@pytest.fixture
def world(
    incident,
    version,
    ic,
    backend,
    sysadmin,
    other_responder,
    viewer,
    outsider,
    dispatched,
    preflights,
):
    return World(
        incident=incident,
        version=version,
        ic=ic,
        backend=backend,
        sysadmin=sysadmin,
        other_responder=other_responder,
        viewer=viewer,
        outsider=outsider,
        dispatched=dispatched,
        preflights=preflights,
    )


def snapshot(incident: Incident) -> dict[str, object]:
    """Everything a refused request must leave as it was."""
    return {
        "step states": sorted(Step.objects.filter(incident=incident).values_list("key", "state")),
        "runs": sorted(
            StepRun.objects.filter(incident=incident).values_list(
                "pk", "status", "approved_by_id", "cancel_requested_by_id"
            )
        ),
        "role assignments": sorted(
            RoleAssignment.objects.filter(incident=incident).values_list(
                "role__key", "user__username"
            )
        ),
        "timeline entries": TimelineEntry.objects.filter(incident=incident).count(),
        "incidents": Incident.objects.count(),
        "api tokens": sorted(ApiToken.objects.values_list("pk", "user__username")),
    }


def expected_status(endpoint: Endpoint, outcome: Outcome) -> int:
    return {
        Outcome.OK: endpoint.ok_status,
        Outcome.HIDDEN: endpoint.ok_status,
        Outcome.DENIED: 403,
        Outcome.NOT_FOUND: 404,
        Outcome.LOGIN: 401 if endpoint.api else 302,
    }[outcome]


def sign_in(client: Client, endpoint: Endpoint, user: User | None) -> dict[str, str]:
    """HTML: a session. API: a real bearer token, as a script would hold."""
    if user is None:
        return {}
    if endpoint.api:
        return {"Authorization": f"Bearer {create_token(user, 'permission matrix')[1]}"}
    client.force_login(user)
    return {}


def send(client: Client, case: Case, headers: dict[str, str]) -> HttpResponseBase:
    endpoint, prepared = case.endpoint, case.prepared
    path = reverse(endpoint.url_name, kwargs=prepared.kwargs)
    if prepared.query:
        path += "?" + urlencode(prepared.query)
    if endpoint.api:
        body = json.dumps(prepared.data) if prepared.data is not None else ""
        return client.generic(
            endpoint.method, path, body, content_type="application/json", headers=headers
        )
    if endpoint.method == "GET":
        return client.get(path)
    assert endpoint.method == "POST", endpoint
    return client.post(path, prepared.data or {})


def problems_with(
    case: Case, response: HttpResponseBase, before: dict[str, object], after: dict[str, object]
) -> list[str]:
    endpoint, expected = case.endpoint, case.endpoint.expect[case.actor]
    problems = []
    want = expected_status(endpoint, expected)
    if response.status_code != want:
        problems.append("wrong status")
    if response.status_code == 302:
        to_login = response["Location"].startswith(resolve_url(settings.LOGIN_URL))
        if to_login != (expected is Outcome.LOGIN):
            problems.append(f"redirected to {response['Location']}")
    if endpoint.shows and expected.allowed and response.status_code == want:
        shown = endpoint.shows(case, response)
        if shown and expected is Outcome.HIDDEN:
            problems.append("the response shows what this actor must not see")
        if not shown and expected is Outcome.OK:
            problems.append("the response leaves out what this actor may see")
    writes_allowed = endpoint.done is not None and expected.allowed
    if writes_allowed:
        assert endpoint.done is not None
        if not endpoint.done(case):
            problems.append("the change did not happen")
    else:
        changed = [key for key in before if before[key] != after[key]]
        if changed:
            problems.append(f"changed {', '.join(changed)}: {before} -> {after}")
        if case.world.dispatched:
            problems.append(f"dispatched runs {case.world.dispatched} to Celery")
    return problems


def make_case(world: World, endpoint: Endpoint, actor: Actor) -> Case:
    user = world.user_for(actor, endpoint)
    return Case(world, endpoint, actor, user, endpoint.prepare(world, user))


# --- 1. every URL is in the matrix ----------------------------------------------


def test_every_url_is_in_the_matrix(client, ic):
    """Every pattern (ninja's too) has rows for every method it accepts, or an exemption."""
    patterns = [(route, name) for route, name, _ in iter_url_patterns(get_resolver().url_patterns)]
    unnamed = [route for route, name in patterns if name is None and not is_exempt(route)]
    assert not unnamed, f"name these URL patterns so the matrix can refer to them: {unnamed}"
    routes = {name: route for route, name in patterns if name is not None}
    stale = {e.url_name for e in ENDPOINTS} - set(routes)
    assert not stale, f"matrix rows for URL names that no longer exist: {sorted(stale)}"

    in_matrix: dict[str, set[str]] = {}  # route -> methods with rows
    for endpoint in ENDPOINTS:
        in_matrix.setdefault(routes[endpoint.url_name], set()).add(endpoint.method)
    nobody_answers = {routes[e.url_name] for e in ENDPOINTS if e.expect == NOBODY}

    named = {e.url_name for e in ENDPOINTS}
    client.force_login(ic)  # past login_required, so the method check answers
    missing = []
    for route, name in patterns:
        if is_exempt(route):
            continue
        if name not in named:
            missing.append(f"{name} (/{route}): no row at all")
    for route in sorted({route for route, _ in patterns if not is_exempt(route)} & set(in_matrix)):
        # A view refuses an unknown method with 405 and says which it accepts.
        response = client.generic("TRACE", sample_path(route))
        if response.status_code == 405:
            accepted = {m.strip() for m in response["Allow"].split(",")} - {"HEAD", "OPTIONS"}
        elif route in nobody_answers and response.status_code == 404:
            accepted = in_matrix[route]
        else:
            missing.append(
                f"/{route} answered TRACE with {response.status_code}: restrict its methods "
                "(require_GET, require_POST...) so the matrix knows which to cover"
            )
            continue
        if not_covered := accepted - in_matrix[route]:
            missing.append(f"/{route}: no row for {', '.join(sorted(not_covered))}")
    assert not missing, "URL patterns without a permission rule in the matrix:\n" + "\n".join(
        missing
    )


def test_every_websocket_route_is_in_the_matrix():
    routes = [str(pattern.pattern) for pattern in websocket_urlpatterns + notify_urlpatterns]
    missing = [route for route in routes if route not in WEBSOCKETS]
    assert not missing, f"websocket routes without a permission rule: {missing}"


# --- 2 and 4. every (endpoint, actor), for real, and the rule module agrees ------


def access_disagreements(case: Case) -> list[str]:
    """Where ``incidents.access`` (or ``common.capabilities``) answers this cell otherwise.

    Asked of the same incident, just before the request: the rule module and the
    matrix cannot drift apart, and a view that skips the rule shows up as a
    status that differs from what the rule says.
    """
    endpoint, expected = case.endpoint, case.endpoint.expect[case.actor]
    problems = []
    if (allowed := endpoint.rule(case)) != expected.allowed:
        problems.append(f"incidents.access says {'allowed' if allowed else 'refused'}")
    if endpoint.shows_rule and expected.allowed:
        sees = endpoint.shows_rule(case)
        if sees != (expected is Outcome.OK):
            problems.append(
                f"incidents.access says it {'sees' if sees else 'does not see'} details"
            )
    return problems


@pytest.mark.parametrize(("endpoint", "actor"), CASES, ids=CASE_IDS)
def test_permission_matrix(
    endpoint, actor, world, fresh_client, sent, django_capture_on_commit_callbacks
):
    """One real request per cell; refused writes change nothing, allowed ones do their job."""
    case = make_case(world, endpoint, actor)
    problems = access_disagreements(case)
    client = fresh_client
    headers = sign_in(client, endpoint, case.user)
    before = snapshot(world.incident)
    with django_capture_on_commit_callbacks(execute=True):  # enqueue and publish, as on commit
        response = send(client, case, headers)
    after = snapshot(world.incident)
    problems += problems_with(case, response, before, after)
    expected = endpoint.expect[actor]
    assert not problems, (
        f"{endpoint.method} {endpoint.url_name} [{endpoint.id}] as {actor}: "
        f"expected {expected.value} -> {expected_status(endpoint, expected)}; "
        f"got {response.status_code}: " + "; ".join(problems)
    )


# --- beyond the seven actors: a viewer who holds a role ------------------------


def test_a_viewer_holding_a_role_still_may_not_act(world, client):
    """Viewers are read-only everywhere, even holding a role (say, one given before the move)."""
    pm = make_user("pm-signoff", RESPONDERS)
    services.assign_role(
        incident_id=world.incident.pk, role_key="backend_engineer", user_id=pm.pk, by=world.ic
    )
    pm.groups.set([Group.objects.get(name=VIEWERS)])
    pm = User.objects.get(pk=pm.pk)
    tick, gated = world.step("disable-v1"), world.step("flip-flags")
    run = runs.request_run(step_id=gated.pk, by=world.ic)
    acc = access.access_for(pm, world.incident)
    assert {
        "audience": acc.audience,
        "tick": acc.can_act_on(tick),
        "approve": acc.can_approve(gated, requested_by_id=world.ic.pk),
    } == {"audience": "view", "tick": False, "approve": False}
    client.force_login(pm)
    before = snapshot(world.incident)
    ticked = client.post(reverse("incidents:step_complete", args=[world.incident.pk, tick.pk]))
    approved = client.post(reverse("incidents:run_approve", args=[world.incident.pk, run.pk]))
    assert (ticked.status_code, approved.status_code) == (403, 403)
    assert snapshot(world.incident) == before


# --- /metrics: the scrape token, never a person -----------------------------------


@pytest.mark.parametrize("actor", ACTORS)
def test_metrics_answer_the_metrics_token_only(actor, world, fresh_client, settings):
    """With RIPCORD_METRICS_TOKEN set, no session and no person's API token opens /metrics."""
    settings.RIPCORD_METRICS_TOKEN = "scrape-token-for-the-matrix"
    user = None if actor == "anonymous" else world.user_for(actor, ENDPOINTS[0])
    if user is not None:
        fresh_client.force_login(user)
        api_token = create_token(user, "not for metrics")[1]
        refused = fresh_client.get("/metrics", headers={"Authorization": f"Bearer {api_token}"})
        assert refused.status_code == 401, f"{actor}'s API token opened /metrics"
    assert fresh_client.get("/metrics").status_code == 401, f"{actor}'s session opened /metrics"
    scraped = fresh_client.get(
        "/metrics", headers={"Authorization": "Bearer scrape-token-for-the-matrix"}
    )
    assert scraped.status_code == 200
    assert world.incident.title.encode() not in scraped.content


# --- 3. the websocket -----------------------------------------------------------

ws_app = URLRouter(websocket_urlpatterns)


def push_log(run: StepRun) -> None:
    """What a worker does with a step's output: store it and push the tail to who may see logs."""
    sink = LogSink(run, Redactor({}))
    sink.emit(f"{LOG_LINE}\n".encode())
    sink.close()


async def drain(comm: WebsocketCommunicator) -> list[str]:
    messages = []
    while not await comm.receive_nothing(timeout=0.3):
        messages.append(await comm.receive_from(timeout=1))
    return messages


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("actor", ACTORS)
async def test_websocket_matrix(
    actor, incident, ic, backend, sysadmin, other_responder, viewer, outsider, dispatched
):
    route = str(websocket_urlpatterns[0].pattern)
    expected = WEBSOCKETS[route][actor]
    people: dict[str, Any] = {
        "anonymous": AnonymousUser(),
        "outsider": outsider,
        "viewer": viewer,
        "other_responder": other_responder,
        "other_role": sysadmin,  # holds system_administrator, on the same incident
        "owner": backend,  # holds backend_engineer, which owns smoke-script
        "ic": ic,
    }
    comm = WebsocketCommunicator(ws_app, f"/ws/incidents/{incident.pk}/")
    comm.scope["user"] = people[actor]
    try:
        connected, code = await comm.connect(timeout=5)
        if expected == "refused":
            assert (connected, code) == (False, 4403), (
                f"websocket as {actor}: expected refused with 4403, got {connected=} {code=}"
            )
            return
        assert connected, f"websocket as {actor}: expected to join {expected!r}, refused ({code})"
        layer = get_channel_layer()
        members = {
            audience: len(layer.groups.get(events.incident_group(incident.pk, audience), {}))
            for audience in events.AUDIENCES
        }
        assert members == {a: int(a == expected) for a in events.AUDIENCES}, (
            f"websocket as {actor}: expected only the {expected!r} group, got {members}"
        )
        # A real change (a run requested) and a real log push, both after commit.
        smoke = await sync_to_async(Step.objects.get)(incident=incident, key="smoke-script")
        run = await sync_to_async(runs.request_run)(step_id=smoke.pk, by=backend)
        await sync_to_async(push_log)(run)
        text = "".join(await drain(comm))
        seen = {
            "the step": f'id="step-{smoke.pk}"' in text,
            "controls": "hx-post" in text,
            "commands": 'class="step-command"' in text,
            "log tails": 'class="run-tail"' in text,
            "log lines": LOG_LINE in text,
        }
        wanted = dict.fromkeys(seen, expected == "act") | {"the step": True}
        assert seen == wanted, f"websocket as {actor} ({expected!r}): expected {wanted}, got {seen}"
        assert dispatched == [run.pk]
    finally:
        await comm.disconnect()
        # The thread that ran the sync calls keeps a connection; close it, or the
        # test database cannot be dropped at the end of the session.
        await sync_to_async(connections.close_all)()


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("actor", ACTORS)
async def test_notify_websocket_matrix(
    actor, incident, ic, backend, sysadmin, other_responder, viewer, outsider
):
    expected = WEBSOCKETS[str(notify_urlpatterns[0].pattern)][actor]
    people: dict[str, Any] = {
        "anonymous": AnonymousUser(),
        "outsider": outsider,
        "viewer": viewer,
        "other_responder": other_responder,
        "other_role": sysadmin,
        "owner": backend,
        "ic": ic,
    }
    comm = WebsocketCommunicator(URLRouter(notify_urlpatterns), "/ws/notify/")
    comm.scope["user"] = people[actor]
    try:
        connected, code = await comm.connect(timeout=5)
        assert (connected, code) == ((False, 4403) if expected == "refused" else (True, None))
    finally:
        await comm.disconnect()
        await sync_to_async(connections.close_all)()


@pytest.mark.django_db
def test_the_websockets_one_query_access_answers_as_access_for(world):
    """``access_to`` (the websocket's connect: status and roles in one query) is ``access_for``.

    Every person of the matrix, a superuser and a viewer holding a role, on the
    incident while active and once resolved; and no answer for an unknown incident.
    """
    pm = make_user("pm-with-role", RESPONDERS)
    services.assign_role(
        incident_id=world.incident.pk, role_key="backend_engineer", user_id=pm.pk, by=world.ic
    )
    pm.groups.set([Group.objects.get(name=VIEWERS)])
    pm = User.objects.get(pk=pm.pk)
    root = User.objects.create_superuser("root", password=None)
    people = [AnonymousUser(), world.ic, world.backend, world.sysadmin, world.other_responder]
    people += [world.viewer, world.outsider, pm, root]
    for status in (Incident.Status.ACTIVE, Incident.Status.RESOLVED):
        Incident.objects.filter(pk=world.incident.pk).update(status=status)
        incident = Incident.objects.get(pk=world.incident.pk)
        for person in people:
            assert access.access_to(person, incident.pk) == access.access_for(person, incident), (
                f"{person} on a {status} incident"
            )
    assert access.access_to(world.ic, incident.pk + 1000) is None
