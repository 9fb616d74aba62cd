from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class SigningKey(models.Model):
    """An RSA key that signs our session JWTs. The private key is stored encrypted (Fernet)."""

    class State(models.TextChoices):
        NEXT = "next", _("next: published, not yet signing")
        CURRENT = "current", _("current: signing")
        PREVIOUS = "previous", _("previous: published, no longer signing")
        RETIRED = "retired", _("retired: gone from JWKS")

    kid = models.CharField(_("key id"), max_length=64, unique=True)
    algorithm = models.CharField(_("algorithm"), max_length=8, default="RS256")
    state = models.CharField(_("state"), max_length=8, choices=State.choices, db_index=True)
    key_size = models.PositiveIntegerField(_("key size"))
    private_key_encrypted = models.BinaryField(_("private key (encrypted)"), editable=False)
    public_jwk = models.JSONField(_("public JWK"))
    # DER of the self-signed certificate published as the JWK's x5c (internal/x509.py); empty
    # for keys made before certificates existed: filled in when the key is next published.
    certificate = models.BinaryField(
        _("certificate (DER)"), blank=True, default=b"", editable=False
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    activated_at = models.DateTimeField(_("signing since"), null=True, blank=True)
    deactivated_at = models.DateTimeField(_("stopped signing at"), null=True, blank=True)

    class Meta:
        verbose_name = _("signing key")
        verbose_name_plural = _("signing keys")
        ordering = ["-created_at"]
        constraints = [
            # At most one key signs at a time; racing workers that both create one collide here.
            models.UniqueConstraint(
                fields=["state"],
                condition=models.Q(state="current"),
                name="trusted_auth_one_current_signing_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kid} ({self.state})"
