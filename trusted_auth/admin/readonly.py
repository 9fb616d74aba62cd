"""One read-only admin mixin for records nobody edits by hand (audit events, sessions, signing
keys, inline lists): no add, no change, no delete, every field read-only."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest


class ReadOnlyAdminMixin:
    """Mix into a ``ModelAdmin`` or an ``InlineModelAdmin`` (before it in the bases). Deliberate
    actions (revoke, rotate) stay admin actions that call a service, with their own permission."""

    can_delete = False  # inlines: no "delete" column
    extra = 0  # inlines: no empty forms

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        declared = list(super().get_readonly_fields(request, obj))  # type: ignore[misc]
        if self.fields:  # type: ignore[attr-defined]
            shown = list(self.fields)  # type: ignore[attr-defined]
        else:
            fields = self.model._meta.get_fields()  # type: ignore[attr-defined]
            shown = [
                f.name
                for f in fields
                if (f.concrete or (f.many_to_many and not f.auto_created)) and f.editable
            ]
        return tuple(dict.fromkeys([*shown, *declared]))
