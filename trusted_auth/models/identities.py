from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from trusted_auth import ids


def _new_user_id() -> str:
    return ids.new_id(ids.USER)


# The ``status`` of an identity or a member: a deleted one is kept (so no token can claim or
# re-create the account) and refused everywhere.
ACTIVE = "active"
DELETED = "deleted"


class ProvisionedBy(models.TextChoices):
    """Who created a user identity or a member."""

    OPERATOR = "operator", _("an operator (admin, CLI or API)")
    JIT = "jit", _("a JIT attest")


class UserIdentity(models.Model):
    """The public, Stytch-shaped face of a Django user: ``user_id``, external id, email, name."""

    # Named django_user, not user: ``user_id`` is the public Stytch id below.
    django_user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="trusted_auth_identity",
        verbose_name=_("Django user"),
    )
    user_id = models.CharField(
        _("user id"), max_length=64, unique=True, default=_new_user_id, editable=False
    )
    email = models.EmailField(_("email"), max_length=254)
    # Stytch's user ``external_id``, not an identity key: issuers' ids live in ``IdentityLink``
    # (two issuers may use one subject for two people). An operator-set one must match to claim.
    external_id = models.CharField(_("external id"), max_length=256, blank=True)
    name = models.JSONField(_("name"), default=dict, blank=True)
    # Stytch's trusted_metadata: set by the backend (POST/PUT /v1/users), never by the user.
    trusted_metadata = models.JSONField(_("trusted metadata"), default=dict, blank=True)
    status = models.CharField(_("status"), max_length=16, default="active")
    provisioned_by = models.CharField(
        _("provisioned by"),
        max_length=16,
        choices=ProvisionedBy.choices,
        default=ProvisionedBy.OPERATOR,
        help_text=_(
            "An identity an operator created and no issuer is linked to yet is claimed by the "
            "first verified token with its email (or external id)."
        ),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("user identity")
        verbose_name_plural = _("user identities")
        indexes = [models.Index(fields=["external_id"], name="trusted_auth_identity_ext_id")]
        constraints = [
            # One identity per email, case-insensitively: the lookup key when no external id is
            # mapped, and what makes concurrent JIT attests for one new email create one user.
            models.UniqueConstraint(Lower("email"), name="trusted_auth_identity_email_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.email} ({self.user_id})"
