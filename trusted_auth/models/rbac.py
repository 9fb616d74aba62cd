"""The RBAC policy, the project's (one row) and each organization's extra roles: Stytch's shape
as JSON, validated whole by ``rbac.policy`` and replaced as one document, never piecemeal."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from trusted_auth.models.organizations import Organization


class RbacPolicy(models.Model):
    """The project policy: ``resources``, ``roles`` and ``scopes`` in Stytch's shape."""

    PROJECT = "project"

    name = models.CharField(_("name"), max_length=16, primary_key=True, default=PROJECT)
    resources = models.JSONField(_("resources"), default=list, blank=True)
    roles = models.JSONField(_("roles"), default=list, blank=True)
    scopes = models.JSONField(_("scopes"), default=list, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("RBAC policy")
        verbose_name_plural = _("RBAC policy")

    def __str__(self) -> str:
        return str(_("RBAC policy"))


class OrganizationRbacPolicy(models.Model):
    """An organization's own roles, assignable only to its members; they supplement the
    project's roles and use the project's resources."""

    organization = models.OneToOneField(
        Organization,
        on_delete=models.CASCADE,
        related_name="rbac_policy",
        verbose_name=_("organization"),
    )
    roles = models.JSONField(_("roles"), default=list, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("organization RBAC policy")
        verbose_name_plural = _("organization RBAC policies")

    def __str__(self) -> str:
        return str(self.organization)
