from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from trusted_auth.models.identities import UserIdentity
from trusted_auth.models.organizations import Member, Organization
from trusted_auth.models.profiles import TrustedAuthTokenProfile


class IdentityLink(models.Model):
    """An issuer vouched for this user or member: the only way a token reaches an account.
    Keyed by (issuer, external id) when the profile maps one, else (issuer, email); audited."""

    class Kind(models.TextChoices):
        EXTERNAL_ID = "external_id", _("external id")
        EMAIL = "email", _("email")

    class Origin(models.TextChoices):
        JIT = "jit", _("created by a JIT attest")
        CLAIMED = "claimed", _("claimed a pre-provisioned identity")
        POLICY = "policy", _("linked by the profile's link policy")
        OPERATOR = "operator", _("linked by an operator")
        MIGRATION = "migration", _("carried over by an upgrade")

    issuer = models.CharField(_("issuer"), max_length=500)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    # The external id as the issuer spells it, or the email lower-cased.
    subject = models.CharField(_("subject"), max_length=256)
    identity = models.ForeignKey(
        UserIdentity,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="links",
        verbose_name=_("user identity"),
    )
    member = models.ForeignKey(
        Member,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="links",
        verbose_name=_("member"),
    )
    # The member's organization, repeated here so a link is unique per organization.
    organization = models.ForeignKey(
        Organization,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("organization"),
    )
    origin = models.CharField(_("origin"), max_length=16, choices=Origin.choices)
    profile = models.ForeignKey(
        TrustedAuthTokenProfile,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("profile that made it"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("identity link")
        verbose_name_plural = _("identity links")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(identity__isnull=False, member__isnull=True, organization__isnull=True)
                    | models.Q(
                        identity__isnull=True, member__isnull=False, organization__isnull=False
                    )
                ),
                name="trusted_auth_link_has_one_owner",
            ),
            models.UniqueConstraint(
                fields=["issuer", "kind", "subject"],
                condition=models.Q(identity__isnull=False),
                name="trusted_auth_link_user_unique",
            ),
            models.UniqueConstraint(
                fields=["organization", "issuer", "kind", "subject"],
                condition=models.Q(member__isnull=False),
                name="trusted_auth_link_member_unique",
            ),
        ]

    def __str__(self) -> str:
        owner = self.identity_id and f"identity {self.identity_id}" or f"member {self.member_id}"
        return f"{self.issuer} {self.kind}={self.subject} → {owner}"
