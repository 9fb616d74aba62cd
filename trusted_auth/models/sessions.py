from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from trusted_auth import ids
from trusted_auth.models.organizations import Member, Organization
from trusted_auth.models.profiles import TrustedAuthTokenProfile


def _new_session_id() -> str:
    return ids.new_id(ids.SESSION)


class Session(models.Model):
    """A first-party session of a Django ``user`` (consumer) or of a ``member`` and its
    ``organization`` (B2B). The session token itself is never stored, only its SHA-256."""

    session_id = models.CharField(
        _("session id"), max_length=64, unique=True, default=_new_session_id, editable=False
    )
    token_digest = models.CharField(_("token digest"), max_length=64, unique=True, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="trusted_auth_sessions",
        null=True,
        blank=True,
        verbose_name=_("user"),
        db_index=False,  # ta_session_user_idx leads with it (see Meta.indexes)
    )
    member = models.ForeignKey(
        Member,
        on_delete=models.CASCADE,
        related_name="sessions",
        null=True,
        blank=True,
        verbose_name=_("member"),
        db_index=False,  # ta_session_member_idx
    )
    organization = models.ForeignKey(
        Organization,
        on_delete=models.CASCADE,
        related_name="member_sessions",
        null=True,
        blank=True,
        verbose_name=_("organization"),
        db_index=False,  # ta_session_org_idx
    )
    profile = models.ForeignKey(
        TrustedAuthTokenProfile,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="sessions",
        verbose_name=_("profile that started it"),
        db_index=False,  # ta_session_profile_idx
    )
    authentication_factors = models.JSONField(_("authentication factors"), default=list)
    custom_claims = models.JSONField(_("custom claims"), default=dict, blank=True)
    roles = models.JSONField(_("roles"), default=list, blank=True)
    # The roles the token granted (allowed by its profile and defined by the policy then);
    # ``roles`` is the union with the owner's roles, recomputed on each authenticate.
    token_roles = models.JSONField(_("roles granted by the token"), default=list, blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=512, blank=True)
    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    last_accessed_at = models.DateTimeField(_("last accessed at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"), db_index=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("session")
        verbose_name_plural = _("sessions")
        ordering = ["-started_at"]
        # The admin's paths (admin/sessions.py): its order, each filter and inline with it. A
        # foreign key's joins use the index leading with it (every attest writes a row here).
        indexes = [
            models.Index(fields=["-started_at", "-id"], name="ta_session_recent_idx"),
            models.Index(fields=["profile", "-started_at"], name="ta_session_profile_idx"),
            models.Index(fields=["organization", "-started_at"], name="ta_session_org_idx"),
            models.Index(fields=["user", "-started_at"], name="ta_session_user_idx"),
            models.Index(fields=["member", "-started_at"], name="ta_session_member_idx"),
            models.Index(fields=["revoked_at"], name="ta_session_revoked_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(user__isnull=False, member__isnull=True)
                    | models.Q(user__isnull=True, member__isnull=False, organization__isnull=False)
                ),
                name="trusted_auth_session_has_one_owner",
            ),
        ]

    def __str__(self) -> str:
        return self.session_id
