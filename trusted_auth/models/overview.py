from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from trusted_auth.models.events import AuditEvent


class Overview(AuditEvent):
    """No table of its own: the admin's Overview page (attests, failures, sessions, keys, JWKS
    health), registered as a proxy so the admin index lists it with the models, in any host
    project's admin, without a custom ``AdminSite``."""

    class Meta:
        proxy = True
        verbose_name = _("overview")
        verbose_name_plural = _("overview")
        default_permissions = ("view",)
