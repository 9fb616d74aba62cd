from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from trusted_auth import ids
from trusted_auth.models.identities import ProvisionedBy


def _new_organization_id() -> str:
    return ids.new_id(ids.ORGANIZATION)


def _new_member_id() -> str:
    return ids.new_id(ids.MEMBER)


class Organization(models.Model):
    """A B2B tenant. Members and member sessions belong to exactly one organization."""

    organization_id = models.CharField(
        _("organization id"),
        max_length=64,
        unique=True,
        default=_new_organization_id,
        editable=False,
    )
    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=128, unique=True)
    external_id = models.CharField(_("external id"), max_length=256, blank=True)
    email_allowed_domains = models.JSONField(
        _("email allowed domains"),
        default=list,
        blank=True,
        help_text=_(
            "JIT-provisioned members must have an email in one of these domains; "
            "empty allows any domain."
        ),
    )
    rbac_email_implicit_role_assignments = models.JSONField(
        _("implicit roles by email domain"),
        default=list,
        blank=True,
        help_text=_(
            'Stytch\'s shape: [{"domain": "example.com", "role_id": "editor"}]; every member '
            "with an email in that domain holds the role."
        ),
    )
    # Stytch's trusted_metadata: set by the backend API, returned as is.
    trusted_metadata = models.JSONField(_("trusted metadata"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True, null=True)

    class Meta:
        verbose_name = _("organization")
        verbose_name_plural = _("organizations")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["external_id"],
                condition=~models.Q(external_id=""),
                name="trusted_auth_organization_external_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.slug})"


class Member(models.Model):
    """A person inside one organization. The same email in two organizations is two members."""

    member_id = models.CharField(
        _("member id"), max_length=64, unique=True, default=_new_member_id, editable=False
    )
    organization = models.ForeignKey(
        Organization,
        on_delete=models.CASCADE,
        related_name="members",
        verbose_name=_("organization"),
    )
    email = models.EmailField(_("email"), max_length=254)
    name = models.CharField(_("name"), max_length=200, blank=True)
    external_id = models.CharField(_("external id"), max_length=256, blank=True)
    roles = models.JSONField(_("roles"), default=list, blank=True)
    status = models.CharField(_("status"), max_length=16, default="active")
    provisioned_by = models.CharField(
        _("provisioned by"),
        max_length=16,
        choices=ProvisionedBy.choices,
        default=ProvisionedBy.OPERATOR,
    )
    django_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="trusted_auth_members",
        verbose_name=_("Django user"),
    )
    trusted_metadata = models.JSONField(_("trusted metadata"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True, null=True)

    class Meta:
        verbose_name = _("member")
        verbose_name_plural = _("members")
        ordering = ["organization", "email"]
        constraints = [
            models.UniqueConstraint(
                Lower("email"), "organization", name="trusted_auth_member_email_per_org"
            ),
            models.UniqueConstraint(
                fields=["organization", "external_id"],
                condition=~models.Q(external_id=""),
                name="trusted_auth_member_external_per_org",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.email} ({self.member_id})"
