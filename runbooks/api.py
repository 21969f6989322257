"""API: the loaded runbooks (read-only; runbooks change by loading files, not over HTTP)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from django.http import Http404, HttpRequest
from ninja import Path, Query, Router, Schema
from ninja.errors import HttpError

from common import capabilities
from common.api import INPUT, UNAUTHORIZED, ErrorOut, InputSchema
from common.api_auth import api_auth
from runbooks.models import RunbookVersion
from runbooks.selectors import latest_versions
from runbooks.specs import KEY_PATTERN, RunbookSpec

router = Router(auth=api_auth, tags=["runbooks"])


class RunbookSummaryOut(Schema):
    slug: str
    title: str
    version: int
    environments: list[str]
    phase_count: int


class RunbookDetailOut(Schema):
    slug: str
    version: int
    loaded_at: datetime
    # True when variables, secret references and step commands were left out.
    details_hidden: bool
    spec: RunbookSpec


def _require_ripcord_user(request: HttpRequest) -> None:
    if not capabilities.can_use_ripcord(request.user):
        raise HttpError(403, "Your account has no Ripcord role yet; ask a commander.")


@router.get("", response={200: list[RunbookSummaryOut], **UNAUTHORIZED, 403: ErrorOut})
def list_runbooks(request: HttpRequest) -> list[RunbookSummaryOut]:
    """The latest version of each loaded runbook."""
    _require_ripcord_user(request)
    out = []
    for version in latest_versions():
        spec = version.parsed()
        out.append(
            RunbookSummaryOut(
                slug=version.runbook.slug,
                title=spec.title,
                version=version.number,
                environments=[env.id for env in spec.environments],
                phase_count=len(spec.phases),
            )
        )
    return out


class VersionQuery(InputSchema):
    version: int | None = None


@router.get(
    "/{slug}",
    response={200: RunbookDetailOut, **UNAUTHORIZED, 403: ErrorOut, 404: ErrorOut, **INPUT},
)
def get_runbook(
    request: HttpRequest,
    slug: Annotated[str, Path(pattern=KEY_PATTERN, description="The runbook's id")],
    query: Query[VersionQuery],
) -> RunbookDetailOut:
    """A runbook's full spec: the latest version, or ``?version=N``."""
    _require_ripcord_user(request)
    versions = RunbookVersion.objects.select_related("runbook").filter(runbook__slug=slug)
    if query.version is not None:
        versions = versions.filter(number=query.version)
    version = versions.order_by("-number").first()
    if version is None:
        raise Http404("No such runbook or version.")
    details = capabilities.can_see_runbook_details(request.user)
    spec = version.parsed()
    return RunbookDetailOut(
        slug=version.runbook.slug,
        version=version.number,
        loaded_at=version.loaded_at,
        details_hidden=not details,
        spec=spec if details else spec.without_details(),
    )
