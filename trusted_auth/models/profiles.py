from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from trusted_auth import ids

MAX_PEM_KEYS = 5
SUPPORTED_ALGORITHMS = (
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
    "EdDSA",
)
DEFAULT_ALGORITHMS = ["RS256", "ES256"]
REQUIRED_MAPPING_KEYS = ("email", "token_id")
OPTIONAL_MAPPING_KEYS = (
    "external_user_id",
    "external_member_id",
    "name",
    "organization_id",
    "role_ids",
    # Where the issuer says the email is verified (default: the top-level `email_verified`).
    "email_verified",
)


def _new_profile_id() -> str:
    return ids.new_id(ids.PROFILE)


def _new_key_id() -> str:
    return ids.new_id(ids.PROFILE_KEY)


def _default_algorithms() -> list[str]:
    return list(DEFAULT_ALGORITHMS)


def validate_attribute_mapping(value: object) -> None:
    if not isinstance(value, dict):
        raise ValidationError(_("The attribute mapping must be an object of key → claim name."))
    allowed = set(REQUIRED_MAPPING_KEYS) | set(OPTIONAL_MAPPING_KEYS)
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise ValidationError(
            _("Unknown mapping keys: %(keys)s."), params={"keys": ", ".join(unknown)}
        )
    missing = [key for key in REQUIRED_MAPPING_KEYS if not value.get(key)]
    if missing:
        raise ValidationError(
            _("The mapping needs %(keys)s."), params={"keys": " and ".join(missing)}
        )
    for key, claim in value.items():
        validate_claim_path(key, claim)


def validate_claim_path(key: str, claim: object) -> None:
    """One mapping value: a claim name (``email``) or a dotted path (``user_metadata.name``)."""
    if (
        not isinstance(claim, str)
        or not claim.strip()
        or claim.startswith(".")
        or claim.endswith(".")
        or ".." in claim
    ):
        raise ValidationError(
            _("The claim for %(key)s must be a claim name or a dotted path."),
            params={"key": key},
        )


MAX_UNTRUSTED_CLAIMS = 20


def validate_untrusted_claims(value: object) -> None:
    """A list of at most 20 claim paths (``user_metadata``) or claim-name prefixes ending in
    ``*`` (``custom:*``): the claims the issuer's end users write themselves."""
    if not isinstance(value, list) or len(value) > MAX_UNTRUSTED_CLAIMS:
        raise ValidationError(
            _("Untrusted claims must be a list of at most %(n)d claim paths."),
            params={"n": MAX_UNTRUSTED_CLAIMS},
        )
    for entry in value:
        path = entry.removesuffix("*") if isinstance(entry, str) else ""
        if (
            not path.strip()
            or len(path) > 200
            or "*" in path
            or path.startswith(".")
            or ".." in path
            or (path.endswith(".") and path == entry)  # "a." only as the prefix "a.*"
        ):
            raise ValidationError(
                _("Each untrusted claim is a claim path (user_metadata) or a prefix ending in *.")
            )


def validate_algorithms(value: object) -> None:
    if not isinstance(value, list) or not value:
        raise ValidationError(_("Name at least one algorithm."))
    bad = [alg for alg in value if alg not in SUPPORTED_ALGORITHMS]
    if bad:
        raise ValidationError(
            _("Unsupported algorithms: %(algs)s (asymmetric only: %(ok)s)."),
            params={"algs": ", ".join(map(str, bad)), "ok": ", ".join(SUPPORTED_ALGORITHMS)},
        )


def validate_role_ids(value: object) -> None:
    if not isinstance(value, list) or not all(
        isinstance(role, str) and role and len(role) <= 128 for role in value
    ):
        raise ValidationError(_("A list of role ids."))


class TrustedAuthTokenProfile(models.Model):
    """A trusted issuer: which tokens to accept and how their claims map to identity."""

    class KeyType(models.TextChoices):
        JWK = "JWK", _("JWKS URL")
        PEM = "PEM", _("PEM public keys")

    class LinkPolicy(models.TextChoices):
        NONE = "none", _("None: only users this issuer is linked to, JIT or pre-provisioned")
        VERIFIED_EMAIL = (
            "verified_email",
            _(
                "Verified email: also link an existing user when the token proves the email "
                "verified"
            ),
        )
        EMAIL = "email", _("Email: link an existing user by email alone (you own the issuer)")

    class ReplayPolicy(models.TextChoices):
        SINGLE_USE = "single_use", _("Single use: a token is attested at most once")
        ALLOW = "allow", _("Allow reuse until the token expires")

    profile_id = models.CharField(
        _("profile id"), max_length=64, unique=True, default=_new_profile_id, editable=False
    )
    name = models.CharField(_("name"), max_length=200)
    issuer = models.CharField(_("issuer"), max_length=500, help_text=_("Exact `iss` value."))
    audience = models.CharField(_("audience"), max_length=500, help_text=_("Exact `aud` value."))
    public_key_type = models.CharField(
        _("public key type"), max_length=3, choices=KeyType.choices, default=KeyType.JWK
    )
    jwks_url = models.URLField(_("JWKS URL"), max_length=1000, blank=True)
    attribute_mapping = models.JSONField(
        _("attribute mapping"), default=dict, validators=[validate_attribute_mapping]
    )
    can_jit_provision = models.BooleanField(_("JIT provisioning"), default=False)
    can_jit_create_organizations = models.BooleanField(
        _("JIT organization creation"),
        default=False,
        help_text=_(
            "B2B: create the organization a token's mapped organization_id claim names "
            "when none exists."
        ),
    )
    link_policy = models.CharField(
        _("link policy"),
        max_length=16,
        choices=LinkPolicy.choices,
        default=LinkPolicy.NONE,
        help_text=_(
            "How a token may reach an existing user or member this issuer has no link to yet. "
            "Staff, superusers and inactive users are never linked automatically."
        ),
    )
    require_verified_email = models.BooleanField(
        _("require a verified email"),
        default=False,
        help_text=_("Refuse tokens that do not prove the email verified (email_verified: true)."),
    )
    untrusted_claims = models.JSONField(
        _("untrusted claims"),
        default=list,
        blank=True,
        validators=[validate_untrusted_claims],
        help_text=_(
            "Claim paths the issuer's end users write themselves (Supabase user_metadata, Clerk "
            "unsafe_metadata, Cognito custom:*). email, email_verified, external ids, "
            "organization_id and role_ids may never be mapped under them."
        ),
    )
    algorithms = models.JSONField(
        _("allowed algorithms"), default=_default_algorithms, validators=[validate_algorithms]
    )
    leeway_seconds = models.PositiveIntegerField(
        _("leeway (seconds)"), default=30, validators=[MaxValueValidator(300)]
    )
    max_token_lifetime_seconds = models.PositiveIntegerField(
        _("max token lifetime (seconds)"),
        default=3600,
        validators=[MinValueValidator(1), MaxValueValidator(366 * 24 * 3600)],
    )
    replay_policy = models.CharField(
        _("replay policy"),
        max_length=16,
        choices=ReplayPolicy.choices,
        default=ReplayPolicy.SINGLE_USE,
    )
    grantable_roles = models.JSONField(
        _("grantable roles"),
        default=list,
        blank=True,
        validators=[validate_role_ids],
        help_text=_(
            "The RBAC roles this issuer's tokens may grant through the mapped role_ids claim; "
            "any other role a token names is dropped. Empty: tokens grant no role."
        ),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("trusted auth token profile")
        verbose_name_plural = _("trusted auth token profiles")
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.issuer})"

    def clean(self) -> None:
        super().clean()
        if self.public_key_type == self.KeyType.JWK and not self.jwks_url:
            raise ValidationError({"jwks_url": _("A JWKS profile needs a JWKS URL.")})
        if self.public_key_type == self.KeyType.PEM and self.jwks_url:
            raise ValidationError({"jwks_url": _("A PEM profile has no JWKS URL.")})


class ProfilePublicKey(models.Model):
    """One of the (at most five) PEM public keys of a ``PEM`` profile."""

    key_id = models.CharField(
        _("key id"), max_length=64, unique=True, default=_new_key_id, editable=False
    )
    profile = models.ForeignKey(
        TrustedAuthTokenProfile,
        on_delete=models.CASCADE,
        related_name="pem_keys",
        verbose_name=_("profile"),
    )
    public_key_pem = models.TextField(_("public key (PEM)"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("profile public key")
        verbose_name_plural = _("profile public keys")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.key_id
