from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from trusted_auth.models.events import AuditEvent


class Overview(AuditEvent):
    """No table of its own: the admin's Overview page, a proxy so any host's admin index lists it
    with the models without a custom ``AdminSite``."""

    class Meta:
        proxy = True
        verbose_name = _("overview")
        verbose_name_plural = _("overview")
        default_permissions = ("view",)
