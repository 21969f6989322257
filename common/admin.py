from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin, messages
from django.forms import ModelForm
from django.http import HttpRequest

from common.models import ApiToken
from common.tokens import assign_new_key

# ModelAdmin is generic only in the type stubs; subscripting it at run time
# would need django-stubs-ext, a dev-only dependency.
if TYPE_CHECKING:
    _ApiTokenAdminBase = admin.ModelAdmin[ApiToken]
else:
    _ApiTokenAdminBase = admin.ModelAdmin


@admin.register(ApiToken)
class ApiTokenAdmin(_ApiTokenAdminBase):
    list_display = ["name", "user", "hint", "created_at", "last_used_at"]
    list_select_related = ["user"]
    search_fields = ["name", "user__username", "hint"]
    # The key is generated on save; an admin never types or sees a stored secret.
    fields = ["user", "name", "hint", "created_at", "last_used_at"]
    readonly_fields = ["hint", "created_at", "last_used_at"]
    autocomplete_fields = ["user"]

    def get_readonly_fields(
        self, request: HttpRequest, obj: ApiToken | None = None
    ) -> list[str] | tuple[Any, ...]:
        if obj is not None:  # reassigning a token to someone else would hand them its holder's key
            return [*self.readonly_fields, "user"]
        return self.readonly_fields

    def save_model(
        self, request: HttpRequest, obj: ApiToken, form: ModelForm[ApiToken], change: bool
    ) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        raw = assign_new_key(obj)
        super().save_model(request, obj, form, change)
        messages.warning(
            request,
            f"Token for {obj.user}: {raw} — copy it now, it will not be shown again.",
        )
