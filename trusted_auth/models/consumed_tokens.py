from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from trusted_auth.models.profiles import TrustedAuthTokenProfile


class ConsumedToken(models.Model):
    """The replay record of an attested token (single-use profiles), written in the attest's
    transaction: its unique ``replay_key`` fails a second attest on every worker, whatever the
    cache holds. Rows past ``expires_at`` are deleted by ``sessions clear-expired``."""

    # SHA-256 of issuer + jti, or of the token's signed part when it has no jti.
    replay_key = models.CharField(_("replay key"), max_length=64, unique=True)
    profile = models.ForeignKey(
        TrustedAuthTokenProfile,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("profile"),
    )
    expires_at = models.DateTimeField(_("expires at"), db_index=True)
    consumed_at = models.DateTimeField(_("consumed at"), auto_now_add=True)

    class Meta:
        verbose_name = _("consumed token")
        verbose_name_plural = _("consumed tokens")

    def __str__(self) -> str:
        return self.replay_key[:16]
