"""Audit events: read-only, filtered by outcome, error type, profile and date."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from trusted_auth.admin.paging import CappedCountPaginator
from trusted_auth.admin.public_ids import (
    LIST_MEDIA,
    breakable,
    change_link,
    compact_time,
    copyable_id,
    two_lines,
)
from trusted_auth.admin.readonly import ReadOnlyAdminMixin
from trusted_auth.internal.http import valid_ip
from trusted_auth.models import AuditEvent

# The text columns an exact search looks in (each indexed, see models/events.py).
EXACT_SEARCH_FIELDS = ("token_id", "subject", "user_id", "session_id", "requested_profile_id")


class RecentErrorTypeFilter(admin.SimpleListFilter):
    """Error types seen in the latest ``RECENT_EVENTS`` events (the filter's choices), read
    from the list's own index instead of a ``SELECT DISTINCT`` over the whole table."""

    title = _("error type")
    parameter_name = "error_type"
    RECENT_EVENTS = 10_000

    def lookups(self, request: HttpRequest, model_admin: Any):
        recent = AuditEvent.objects.order_by("-created_at", "-id").values_list(
            "error_type", flat=True
        )[: self.RECENT_EVENTS]
        seen = sorted(set(recent) - {""})
        chosen = self.value()
        if chosen and chosen not in seen:
            seen.append(chosen)
        return [(error_type, error_type) for error_type in seen]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(error_type=self.value()) if self.value() else queryset


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("time", "outcome_badge", "profile_link", "who", "client_ip")
    list_display_links = ("time",)
    list_filter = (
        "outcome",
        RecentErrorTypeFilter,
        "profile",
        ("created_at", admin.DateFieldListFilter),
    )
    search_fields = (
        "=token_id",
        "=subject",
        "=user_id",
        "=session_id",
        "=requested_profile_id",
        "=organization_id",
        "=ip_address",
    )
    search_help_text = _(
        "An exact token id, subject, user or member id, session id, "
        "requested profile id, organization id or IP address."
    )
    list_select_related = ("profile",)
    fields = (
        "created_at",
        "action",
        "via",
        "outcome",
        "error_type",
        "error_message",
        "profile",
        "requested_profile_id",
        "token_id",
        "subject",
        "user_id",
        "organization_id",
        "session_id",
        "ip_address",
        "user_agent",
    )
    show_full_result_count = False
    paginator = CappedCountPaginator

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        """The exact matches of ``search_fields``, each served by its own index (Django's
        ``=field`` search wraps columns in ``UPPER``/``HOST`` and scans every event)."""
        term = search_term.strip()
        if not term:
            return queryset, False
        matches = Q()
        for name in EXACT_SEARCH_FIELDS:
            matches |= Q(**{name: term})
        address = valid_ip(term)
        if address is not None:
            matches |= Q(ip_address=address)
        return queryset.filter(matches), False

    @property
    def media(self):
        return super().media + LIST_MEDIA

    @admin.display(description=_("time"), ordering="created_at")
    def time(self, event: AuditEvent) -> str:
        return compact_time(event.created_at, seconds=True)

    @admin.display(description=_("outcome"), ordering="outcome")
    def outcome_badge(self, event: AuditEvent) -> str:
        colour = "#2a7a2a" if event.outcome == AuditEvent.Outcome.SUCCESS else "#ba2121"
        badge = format_html(
            '<strong style="color: {}">{}</strong>', colour, event.get_outcome_display()
        )
        return two_lines(badge, breakable(event.error_type))

    @admin.display(description=_("profile"), ordering="profile__name")
    def profile_link(self, event: AuditEvent) -> str:
        if event.profile is None:
            return copyable_id(event.requested_profile_id)
        return change_link(event.profile, event.profile.name)

    @admin.display(description=_("user or member · subject"))
    def who(self, event: AuditEvent) -> str:
        """The account the event is about and the token's subject, each short with a copy
        button (one column: two ids side by side do not fit 1,400 px beside the filters)."""
        if event.user_id and event.subject:
            return two_lines(copyable_id(event.user_id), copyable_id(event.subject))
        return copyable_id(event.user_id or event.subject)

    @admin.display(description=_("IP address"), ordering="ip_address")
    def client_ip(self, event: AuditEvent) -> str:
        return breakable(event.ip_address, after=":") if event.ip_address else "—"
