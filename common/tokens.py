"""API token services: issue, revoke and check per-user bearer tokens.

Only the SHA-256 of a token is stored. The raw value exists in memory while it
is issued and on the one response that shows it to its owner.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from common.compiled import Compiled
from common.models import TOKEN_PREFIX, ApiToken, hash_token, new_raw_token

# Recording every request would turn each API call into a write; a minute's
# precision is plenty to tell a live token from a forgotten one.
LAST_USED_PRECISION = timedelta(minutes=1)

# A raw token is the prefix plus 43 URL-safe characters; anything far longer is
# not ours and is refused before hashing it.
_MAX_RAW_LENGTH = 128


def assign_new_key(token: ApiToken) -> str:
    """Give an unsaved token a fresh key; return the raw value (the only time it exists)."""
    raw = new_raw_token()
    token.key_sha256 = hash_token(raw)
    token.hint = raw[: ApiToken._meta.get_field("hint").max_length]
    return raw


@transaction.atomic
def create_token(user: User, name: str) -> tuple[ApiToken, str]:
    token = ApiToken(user=user, name=name.strip())
    raw = assign_new_key(token)
    token.full_clean()
    token.save()
    return token, raw


def revoke_token(user: User, token_id: int) -> None:
    """Delete one of ``user``'s tokens; another user's id is ``ApiToken.DoesNotExist``."""
    deleted, _ = ApiToken.objects.filter(user=user, pk=token_id).delete()
    if not deleted:
        raise ApiToken.DoesNotExist(f"no token {token_id} for this user")


_BY_HASH = Compiled[ApiToken](
    lambda key: ApiToken.objects.select_related("user").filter(key_sha256=key)[:1]
)


def authenticate_token(raw: str) -> User | None:
    """Return the active user owning ``raw``, or None.

    The lookup is by the token's hash through a unique index, so the time taken
    does not depend on how much of a guessed token matches a real one.
    """
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > _MAX_RAW_LENGTH:
        return None
    token = _BY_HASH.first(hash_token(raw))
    if token is None or not token.user.is_active:
        return None
    _touch(token)
    return token.user


def _touch(token: ApiToken) -> None:
    now = timezone.now()
    if token.last_used_at is not None and token.last_used_at >= now - LAST_USED_PRECISION:
        return  # written less than a minute ago, as just read: no query at all
    # Conditional UPDATE: concurrent requests with one token write at most once a minute.
    ApiToken.objects.filter(pk=token.pk).filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_PRECISION)
    ).update(last_used_at=now)
