from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from trusted_auth.models.profiles import TrustedAuthTokenProfile


class AuditEvent(models.Model):
    """One attest, successful or not. Never holds the raw token."""

    class Outcome(models.TextChoices):
        SUCCESS = "success", _("success")
        FAILURE = "failure", _("failure")

    # No index of their own for created_at, error_type and profile: a composite index below
    # leads with each, and every attest writes a row here (fewer B-trees to update).
    created_at = models.DateTimeField(_("time"), auto_now_add=True)
    action = models.CharField(_("action"), max_length=32, default="attest")
    outcome = models.CharField(_("outcome"), max_length=8, choices=Outcome.choices)
    error_type = models.CharField(_("error type"), max_length=64, blank=True)
    error_message = models.CharField(_("error message"), max_length=500, blank=True)
    profile = models.ForeignKey(
        TrustedAuthTokenProfile,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="audit_events",
        verbose_name=_("profile"),
        db_index=False,  # ta_event_profile_idx leads with it
    )
    # The profile id as asked for, kept even when no such profile exists or it was deleted.
    requested_profile_id = models.CharField(_("requested profile id"), max_length=128, blank=True)
    token_id = models.CharField(_("token id"), max_length=256, blank=True)
    subject = models.CharField(_("subject"), max_length=256, blank=True)
    user_id = models.CharField(_("user or member id"), max_length=64, blank=True)
    organization_id = models.CharField(_("organization id"), max_length=64, blank=True)
    session_id = models.CharField(_("session id"), max_length=64, blank=True)
    # The face that was called: "api" (the Stytch-compatible API), "oauth" (the token endpoint).
    via = models.CharField(_("via"), max_length=16, default="api", blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=512, blank=True)

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-created_at", "-id"]
        # The admin's paths (admin/audit.py): its order, each filter with it, each search field.
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="ta_event_recent_idx"),
            models.Index(fields=["outcome", "-created_at"], name="ta_event_outcome_idx"),
            models.Index(fields=["error_type", "-created_at"], name="ta_event_error_idx"),
            models.Index(fields=["profile", "-created_at"], name="ta_event_profile_idx"),
            models.Index(fields=["token_id"], name="ta_event_token_idx"),
            models.Index(fields=["subject"], name="ta_event_subject_idx"),
            models.Index(fields=["user_id"], name="ta_event_user_idx"),
            models.Index(fields=["session_id"], name="ta_event_session_idx"),
            models.Index(fields=["requested_profile_id"], name="ta_event_requested_idx"),
            models.Index(fields=["ip_address"], name="ta_event_ip_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.outcome} {self.error_type}".strip()
