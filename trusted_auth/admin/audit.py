"""Audit events: read-only, filtered by outcome, error type, profile and date."""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from trusted_auth.models import AuditEvent

from .readonly import ReadOnlyAdminMixin

EVENT_FIELDS = (
    "created_at",
    "action",
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


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "created_at",
        "outcome_badge",
        "error_type",
        "profile_link",
        "subject",
        "user_id",
        "ip_address",
    )
    list_display_links = ("created_at",)
    list_filter = ("outcome", "error_type", "profile", ("created_at", admin.DateFieldListFilter))
    search_fields = (
        "=token_id",
        "=subject",
        "=user_id",
        "=session_id",
        "=requested_profile_id",
        "=ip_address",
    )
    search_help_text = _(
        "An exact token id, subject, user or member id, session id, "
        "requested profile id or IP address."
    )
    list_select_related = ("profile",)
    fields = EVENT_FIELDS
    show_full_result_count = False

    @admin.display(description=_("outcome"), ordering="outcome")
    def outcome_badge(self, event: AuditEvent) -> str:
        colour = "#2a7a2a" if event.outcome == AuditEvent.Outcome.SUCCESS else "#ba2121"
        return format_html(
            '<strong style="color: {}">{}</strong>', colour, event.get_outcome_display()
        )

    @admin.display(description=_("profile"), ordering="profile__name")
    def profile_link(self, event: AuditEvent) -> str:
        if event.profile is None:
            return event.requested_profile_id or "—"
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:trusted_auth_trustedauthtokenprofile_change", args=[event.profile_id]),
            event.profile.name,
        )
