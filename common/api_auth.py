"""Who is calling the JSON API: a per-user token, or the browser's session.

Scripts and CLIs send ``Authorization: Bearer <token>``; only the token's SHA-256
is stored (``common.models.ApiToken``). The browser reuses its session through
ninja's ``django_auth``, which enforces CSRF, so a page on another site cannot
make a signed-in browser write through the API.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from ninja.errors import AuthenticationError
from ninja.security import HttpBearer, django_auth

from common.models import ApiToken, hash_token

# Writing last_used_at on every request would turn each read into a write;
# a minute is precise enough to tell a live token from a forgotten one.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> AbstractBaseUser:
        """The token's owner, or 401.

        A token that was presented but is wrong raises instead of returning None:
        falling through to the session would answer a script's bad token with a
        CSRF refusal (403) rather than "unauthorized".
        """
        found = ApiToken.objects.select_related("user").filter(key_sha256=hash_token(token)).first()
        if found is None or not found.user.is_active:
            raise AuthenticationError()
        now = timezone.now()
        stale = now - LAST_USED_RESOLUTION
        if found.last_used_at is None or found.last_used_at < stale:
            # Conditional, so concurrent requests with one token write once.
            ApiToken.objects.filter(pk=found.pk).filter(
                Q(last_used_at__isnull=True) | Q(last_used_at__lt=stale)
            ).update(last_used_at=now)
        request.user = found.user
        return found.user


api_auth = [TokenAuth(), django_auth]
