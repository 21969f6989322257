"""What every API router shares: the error bodies, strict inputs, the usual answers, the caller.

Every refusal has the body ``{"detail": "..."}`` (``config.api`` maps exceptions to it),
except malformed input: a 422 whose ``detail`` lists each error with the field it is in.
A route declares what it answers with these dicts, so the OpenAPI document tells the truth:
``READ`` or ``WRITE``, plus ``INPUT`` when it takes a body or query parameters.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.http import HttpRequest
from ninja import Schema
from ninja.errors import AuthenticationError
from pydantic import ConfigDict, field_validator

from common.text import unstorable


class ErrorOut(Schema):
    detail: str


class FieldErrorOut(Schema):
    type: str
    loc: list[str | int]
    msg: str


class ValidationErrorOut(Schema):
    """A 422: every problem found in the input, each located (``["body", "payload", "text"]``)."""

    detail: list[FieldErrorOut]


class InputSchema(Schema):
    """Inputs forbid unknown fields: a typo is a 422 naming the field, never ignored.

    Text that PostgreSQL cannot store (a NUL, a lone surrogate) is a 422 naming its
    field too, in every input (bodies and query parameters) built on this class.
    """

    model_config = ConfigDict(extra="forbid")

    @field_validator("*")
    @classmethod
    def _storable_text(cls, value: Any) -> Any:
        if problem := _unstorable_in(value):
            raise ValueError(problem)
        return value


def _unstorable_in(value: Any) -> str | None:
    if isinstance(value, str):
        return unstorable(value)
    if isinstance(value, dict):
        return next(filter(None, map(_unstorable_in, [*value, *value.values()])), None)
    if isinstance(value, list | tuple | set | frozenset):
        return next(filter(None, map(_unstorable_in, value)), None)
    return None


UNAUTHORIZED = {401: ErrorOut}
READ = {**UNAUTHORIZED, 403: ErrorOut, 404: ErrorOut}
WRITE = {**UNAUTHORIZED, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut}
INPUT = {422: ValidationErrorOut}


def actor(request: HttpRequest) -> User:
    """The signed-in user an endpoint acts for (api_auth has already refused anyone else)."""
    user = request.user
    if not isinstance(user, User):  # unreachable behind api_auth
        raise AuthenticationError()
    return user
