"""Audit events: read-only, filtered by outcome, error type, profile and date."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from trusted_auth.models import AuditEvent

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
class AuditEventAdmin(admin.ModelAdmin):
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
        "=organization_id",
        "=ip_address",
    )
    search_help_text = _(
        "An exact token id, subject, user or member id, session id, "
        "requested profile id, organization id or IP address."
    )
    list_select_related = ("profile",)
    fields = EVENT_FIELDS
    readonly_fields = EVENT_FIELDS
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

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
