"""Django's model backend, with the session's user read compiled once (common/compiled.py).

Each request and each websocket connect looks its user up by id; the rules are the
model backend's (an inactive user is nobody). ``AUTHENTICATION_BACKENDS`` names it first,
and Django's model backend after it only for the sessions made before it (a session
names the backend that logged it in): a failed login here is final, so a password is
never checked twice.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied, ValidationError

from common.compiled import Compiled

_USER = Compiled[Any](lambda pk: get_user_model()._default_manager.filter(pk=pk)[:1])


class Backend(ModelBackend):
    def authenticate(
        self, request: Any, username: Any = None, password: Any = None, **kw: Any
    ) -> Any:
        user = super().authenticate(request, username=username, password=password, **kw)
        if user is None:
            raise PermissionDenied  # Django stops here: the model backend does not try again
        return user

    def get_user(self, user_id: Any) -> Any:
        try:
            pk = get_user_model()._meta.pk.to_python(user_id)
        except ValidationError:
            return None
        if not isinstance(pk, int):
            return super().get_user(user_id)
        user = _USER.first(pk)
        return user if user is not None and self.user_can_authenticate(user) else None
