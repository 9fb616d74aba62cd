"""Public ids (``ttp-…``, ``user-…``, ``session-…``) in admin URLs, as the API and the CLI print
them; ``get_object`` accepts the integer primary key too.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib.admin.utils import quote
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import ValidationError
from django.db.models import Model
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

if TYPE_CHECKING:
    from django.contrib.admin import ModelAdmin

    AdminMixinBase = ModelAdmin
else:  # a plain mixin at run time; typed as the ModelAdmin it is mixed into
    AdminMixinBase = object


class PublicIdChangeList(ChangeList):
    def url_for_result(self, result: Model) -> str:
        model_admin: Any = self.model_admin
        public_id = getattr(result, model_admin.public_id_field, None)
        if not public_id:
            return super().url_for_result(result)
        return model_admin.public_id_change_url(public_id)


class PublicIdAdminMixin(AdminMixinBase):
    """Mixed into a ``ModelAdmin`` whose model has a unique public id field."""

    public_id_field: str = ""

    def get_object(
        self, request: HttpRequest, object_id: str, from_field: str | None = None
    ) -> Any:
        if from_field is None and object_id and not object_id.isdigit():
            try:
                return self.get_queryset(request).get(**{self.public_id_field: object_id})
            except (self.model.DoesNotExist, ValidationError, ValueError):
                return None
        return super().get_object(request, object_id, from_field)

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return PublicIdChangeList

    def public_id_change_url(self, public_id: str) -> str:
        opts = self.model._meta
        return reverse(
            f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_change",
            args=[quote(public_id)],
            current_app=self.admin_site.name,
        )


# The change lists' short ids, copy buttons and wrapping cells (``copyable_id``).
LIST_MEDIA = forms.Media(
    css={"all": ["trusted_auth/admin/ids.css"]}, js=["trusted_auth/admin/copy_id.js"]
)
_ENDS_WITH_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
SHORT_ID_LENGTH = 12
# Two overlapping sheets, drawn: no font needs a copy glyph.
COPY_ICON = mark_safe(
    '<svg width="12" height="12" viewBox="0 0 16 16" aria-hidden="true" fill="none" '
    'stroke="currentColor" stroke-width="1.6"><rect x="5.5" y="5.5" width="9" height="9" '
    'rx="1.5"/><path d="M10.5 3V2.5a1 1 0 0 0-1-1h-7a1 1 0 0 0-1 1v7a1 1 0 0 0 1 1H3"/></svg>'
)


def short_id(value: str) -> str:
    """``session-9a5a0cf2…`` for ``session-9a5a0cf2-8791-…``: a public id's prefix and the first
    8 characters of its UUID; any other long value cut at ``SHORT_ID_LENGTH`` characters."""
    match = _ENDS_WITH_UUID.search(value)
    if match and match.start() > 0:
        return value[: match.start() + 8] + "…"
    return value if len(value) <= SHORT_ID_LENGTH + 1 else value[:SHORT_ID_LENGTH] + "…"


def copyable_id(value: str, url: str | None = None) -> SafeString:
    """A short id on one line (a link to ``url`` when given) with the full id as its title,
    and a button that copies the full id (``copy_id.js``). Empty values show as "—"."""
    if not value:
        return mark_safe("—")
    label = _("Copy %(id)s") % {"id": value}
    shown = (
        format_html('<a class="ta-id" href="{}" title="{}">{}</a>', url, value, short_id(value))
        if url
        else format_html('<span class="ta-id" title="{}">{}</span>', value, short_id(value))
    )
    return format_html(
        '<span class="ta-id-cell">{}<button type="button" class="ta-copy" data-copy="{}" '
        'title="{}" aria-label="{}">{}</button></span>',
        shown,
        value,
        label,
        label,
        COPY_ICON,
    )


def change_link(obj: Model, text: str) -> SafeString:
    """A link to ``obj``'s page in the admin."""
    url = reverse(f"admin:trusted_auth_{obj._meta.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, text)


def breakable(text: str, after: str = "_:./|-@") -> SafeString:
    """``text`` with a line-break opportunity after each of ``after``'s characters, so a long
    error type, email, IP address or URL wraps inside its column instead of widening it."""
    # None of ``after``'s characters is one ``escape`` writes, so the <wbr> land between
    # whole characters of the escaped text.
    return mark_safe(re.sub(f"([{re.escape(after)}])", r"\1<wbr>", str(escape(text))))


def two_lines(first: str, second: str) -> SafeString:
    """``first``, and ``second`` below it in a list cell when there is one."""
    if not second:
        return format_html("{}", first)
    return format_html('{}<span class="ta-second-line">{}</span>', first, second)


def compact_time(moment: datetime | None, *, seconds: bool = False) -> SafeString:
    """``2026-12-07 02:50`` in the current time zone for a list column (the date kept on one
    line, the time wrapping below it when the column is narrow); "—" for none."""
    if moment is None:
        return mark_safe("—")
    local = timezone.localtime(moment)
    return format_html(
        '<span class="ta-nowrap">{}</span> {}',
        f"{local:%Y-%m-%d}",
        f"{local:%H:%M:%S}" if seconds else f"{local:%H:%M}",
    )
