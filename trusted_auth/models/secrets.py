from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from trusted_auth import ids


def _new_secret_id() -> str:
    return ids.new_id(ids.SECRET)


class ApiSecret(models.Model):
    """A project secret for HTTP Basic auth. Only its SHA-256 is kept; several may be live."""

    secret_id = models.CharField(
        _("secret id"), max_length=64, unique=True, default=_new_secret_id, editable=False
    )
    digest = models.CharField(_("digest"), max_length=64, unique=True, editable=False)
    last_four = models.CharField(_("last four characters"), max_length=4, editable=False)
    description = models.CharField(_("description"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    # Set while a rotation is under way: this new secret will replace that one on --complete.
    replaces = models.OneToOneField(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="replaced_by",
        verbose_name=_("replaces"),
    )

    class Meta:
        verbose_name = _("API secret")
        verbose_name_plural = _("API secrets")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.secret_id} (…{self.last_four})"
