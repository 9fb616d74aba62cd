"""Admin forms for trusted auth token profiles: the CLI's rules (``validate_profile``), and a
key type that follows what was pasted (PEM keys without a JWKS URL make a PEM profile)."""

from __future__ import annotations

import re
from functools import partial
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet
from django.utils.translation import gettext_lazy as _

from trusted_auth.errors import InvalidJwksUrl, InvalidProfile, TrustedAuthError
from trusted_auth.internal.pem import looks_like_pem
from trusted_auth.issuers import profiles as profile_service
from trusted_auth.issuers.jwks_http import FetchedJwks
from trusted_auth.models import ProfilePublicKey, TrustedAuthTokenProfile
from trusted_auth.models.profiles import (
    DEFAULT_ALGORITHMS,
    OPTIONAL_MAPPING_KEYS,
    REQUIRED_MAPPING_KEYS,
    SUPPORTED_ALGORITHMS,
    validate_claim_path,
)
from trusted_auth.rbac.policy import all_role_ids

MAPPING_FIELD_PREFIX = "map_"
PEM_INLINE_PREFIX = "pem_keys"  # the inline formset's prefix: the related_name of the keys
MAX_SUBMITTED_KEY_FORMS = 20  # far above MAX_PEM_KEYS; never loop on a forged TOTAL_FORMS
WIDE = "width: min(40em, 100%)"  # issuers and URLs are long
MAPPING_KEYS = REQUIRED_MAPPING_KEYS + OPTIONAL_MAPPING_KEYS
UNTRUSTED_SPLIT = re.compile(r"[\s,]+")  # untrusted claims: one per line, or comma-separated
_MAPPING_HELP = {
    "email": _("Required. The claim holding the user's email, e.g. email."),
    "token_id": _(
        "Required. A claim unique per token, e.g. jti or session_id: it names the "
        "factor on the session and keys replay protection."
    ),
    "external_user_id": _(
        "The IdP's stable user id, e.g. sub: then (issuer, this id) identifies "
        "the user instead of the email."
    ),
    "external_member_id": _("B2B: the IdP's stable member id."),
    "name": _("A string (the first name) or an object with first_name/middle_name/last_name."),
    "organization_id": _("B2B: an organization id, slug or external id."),
    "role_ids": _(
        "A list of RBAC role ids; only those in grantable roles are granted (session only)."
    ),
    "email_verified": _(
        "Where the issuer says the email is verified, when it is not email_verified beside "
        "the email claim, e.g. user_metadata.email_verified."
    ),
}


def mapping_field_name(key: str) -> str:
    return MAPPING_FIELD_PREFIX + key


def _mapping_field(key: str) -> forms.CharField:
    return forms.CharField(
        label=key,
        required=key in REQUIRED_MAPPING_KEYS,
        max_length=200,
        help_text=_MAPPING_HELP[key],
        validators=[partial(validate_claim_path, key)],
    )


class JwksUrlField(forms.URLField):
    """A URL field that recognises a PEM key pasted into it and says where it goes."""

    def to_python(self, value: Any) -> str | None:
        if looks_like_pem(value):
            raise ValidationError(
                _(
                    "This is a PEM key, not a URL: paste it into a PEM public key box below "
                    "and leave this field empty (the key type follows)."
                ),
                code="pem_in_url",
            )
        return super().to_python(value)


def submitted_pem_texts(data: Any) -> list[str]:
    """The non-empty PEM texts of the key inline in a submitted admin page, minus the ones
    ticked for deletion, in their order."""
    if not data:
        return []
    try:
        total = int(data.get(f"{PEM_INLINE_PREFIX}-TOTAL_FORMS", 0))
    except (TypeError, ValueError):
        return []
    texts = []
    for index in range(max(0, min(total, MAX_SUBMITTED_KEY_FORMS))):
        prefix = f"{PEM_INLINE_PREFIX}-{index}-"
        text = (data.get(prefix + "public_key_pem") or "").strip()
        if text and data.get(prefix + "DELETE") not in ("on", "true", "True", "1"):
            texts.append(text)
    return texts


class ProfileForm(forms.ModelForm):
    """The profile form: one text box per mapping key instead of raw JSON, algorithms as
    checkboxes, and the JWKS URL fetched once (through the safe fetcher) when it is saved."""

    # One per key of MAPPING_KEYS, named by mapping_field_name().
    map_email = _mapping_field("email")
    map_token_id = _mapping_field("token_id")
    map_external_user_id = _mapping_field("external_user_id")
    map_external_member_id = _mapping_field("external_member_id")
    map_name = _mapping_field("name")
    map_organization_id = _mapping_field("organization_id")
    map_role_ids = _mapping_field("role_ids")
    map_email_verified = _mapping_field("email_verified")
    jwks_url = JwksUrlField(
        label=_("JWKS URL"),
        required=False,
        max_length=1000,
        assume_scheme="https",
        widget=forms.URLInput(attrs={"class": "vURLField", "style": WIDE}),
        help_text=_("https only. Fetched once when you save; its usable keys are listed below."),
    )
    untrusted_claims = forms.CharField(
        label=_("untrusted claims"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 40, "spellcheck": "false"}),
        help_text=_(
            "One per line: claim paths the issuer's users write themselves (user_metadata) or "
            "prefixes ending in * (custom:*). email, email_verified, external ids, "
            "organization_id and role_ids may not be mapped under them."
        ),
    )
    algorithms = forms.MultipleChoiceField(
        label=_("allowed algorithms"),
        choices=[(a, a) for a in SUPPORTED_ALGORITHMS],
        widget=forms.CheckboxSelectMultiple,
        initial=DEFAULT_ALGORITHMS,
        help_text=_(
            "The token's alg must be one of these; the token never chooses. "
            "Asymmetric algorithms only."
        ),
    )
    grantable_roles = forms.MultipleChoiceField(
        label=_("grantable roles"),
        choices=lambda: [(role, role) for role in sorted(all_role_ids())],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_(
            "The RBAC roles this issuer's tokens may grant through the mapped role_ids claim; "
            "any other role a token names is dropped (and audited). None: tokens grant no role."
        ),
    )

    class Meta:
        model = TrustedAuthTokenProfile
        fields = [
            "name",
            "issuer",
            "audience",
            "public_key_type",
            "jwks_url",
            "can_jit_provision",
            "can_jit_create_organizations",
            "algorithms",
            "leeway_seconds",
            "max_token_lifetime_seconds",
            "replay_policy",
            "link_policy",
            "require_verified_email",
            "untrusted_claims",
            "grantable_roles",
        ]
        widgets = {
            "public_key_type": forms.RadioSelect,
            "issuer": forms.TextInput(attrs={"class": "vTextField", "style": WIDE}),
            "audience": forms.TextInput(attrs={"class": "vTextField", "style": WIDE}),
        }
        help_texts = {
            "issuer": _(
                "The exact iss of the IdP's tokens: an https URL (no trailing slash "
                "unless the IdP writes one) or the plain string the IdP uses."
            ),
            "audience": _("The exact aud value (a token's aud may be a list containing it)."),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fetched_jwks: FetchedJwks | None = None
        self.submitted_pems = submitted_pem_texts(self.data) if self.is_bound else []
        self.key_type_switched_to: str | None = None
        mapping = self.instance.attribute_mapping or {}
        if not self.instance.pk and not mapping:
            mapping = {"email": "email", "token_id": "jti"}
        for key in MAPPING_KEYS:
            self.fields[mapping_field_name(key)].initial = mapping.get(key, "")
        if not self.is_bound and "untrusted_claims" not in self.initial:
            self.initial["untrusted_claims"] = "\n".join(self.instance.untrusted_claims or [])

    def _update_errors(self, errors: ValidationError) -> None:
        # The model's clean() repeats "needs a JWKS URL" for a URL this form already refused.
        if hasattr(errors, "error_dict"):
            errors = ValidationError(
                {
                    field: messages
                    for field, messages in errors.error_dict.items()
                    if field not in self.errors
                }
            )
        super()._update_errors(errors)  # type: ignore[misc]  # Django API missing from the stubs

    def clean_issuer(self) -> str:
        issuer = self.cleaned_data["issuer"]
        try:
            profile_service.validate_issuer(issuer)
        except InvalidProfile as e:
            raise ValidationError(e.message) from e
        return issuer

    def clean_untrusted_claims(self) -> list[str]:
        text = self.cleaned_data.get("untrusted_claims") or ""
        try:
            return profile_service.clean_untrusted_claims(
                [path for path in UNTRUSTED_SPLIT.split(text) if path]
            )
        except InvalidProfile as e:
            raise ValidationError(e.message) from e

    def clean_algorithms(self) -> list[str]:
        try:
            return profile_service.clean_algorithms(self.cleaned_data["algorithms"])
        except InvalidProfile as e:
            raise ValidationError(e.message) from e

    def _clean_mapping_fields(self) -> dict[str, str] | None:
        if any(mapping_field_name(key) in self.errors for key in MAPPING_KEYS):
            return None
        given = {key: self.cleaned_data.get(mapping_field_name(key)) for key in MAPPING_KEYS}
        mapping = {key: claim for key, claim in given.items() if claim}
        try:
            return profile_service.clean_attribute_mapping(mapping)
        except InvalidProfile as e:
            self.add_error(None, e.message)
            return None

    def _infer_key_type(self, cleaned: dict[str, Any]) -> None:
        """The key type follows what was given when the radio disagrees with it."""
        key_type = cleaned.get("public_key_type")
        url = cleaned.get("jwks_url")
        pems = self.submitted_pems
        kinds = TrustedAuthTokenProfile.KeyType
        if url and pems:
            self.add_error(
                "jwks_url",
                ValidationError(
                    _(
                        "You gave a JWKS URL and %(n)d PEM key(s): clear the JWKS URL to trust "
                        "the PEM keys, or tick Delete on each key to trust the URL."
                    ),
                    params={"n": len(pems)},
                ),
            )
        elif key_type == kinds.JWK and not url and pems and "jwks_url" not in self.errors:
            cleaned["public_key_type"] = self.key_type_switched_to = kinds.PEM
        elif key_type == kinds.PEM and url and not pems:
            cleaned["public_key_type"] = self.key_type_switched_to = kinds.JWK

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or self.cleaned_data
        mapping = self._clean_mapping_fields()
        if mapping is not None:
            self.instance.attribute_mapping = mapping
            # A decisive attribute read from a claim the users write: the error goes next to it.
            untrusted = cleaned.get("untrusted_claims")
            for key, message in profile_service.untrusted_mappings(mapping, untrusted or []):
                self.add_error(mapping_field_name(key), message)
        self._infer_key_type(cleaned)
        url = cleaned.get("jwks_url")
        is_jwks = cleaned.get("public_key_type") == TrustedAuthTokenProfile.KeyType.JWK
        if is_jwks and url and "jwks_url" not in self.errors:
            try:
                self.fetched_jwks = profile_service.usable_jwks(url)
            except TrustedAuthError as e:
                self.add_error("jwks_url", e.message)
        return cleaned

    def _post_clean(self) -> None:
        super()._post_clean()  # type: ignore[misc]  # a ModelForm hook the stubs omit
        if self.errors:
            return
        # The service's whole-profile rules, as the CLI runs them before the same save. PEM key
        # errors are shown next to the keys by PemKeyFormSet, which checks the same rules.
        is_pem = self.instance.public_key_type == TrustedAuthTokenProfile.KeyType.PEM
        try:
            profile_service.validate_profile(self.instance, self.submitted_pems if is_pem else None)
        except (InvalidProfile, InvalidJwksUrl) as e:
            field = getattr(e, "field", None) or "jwks_url"
            if field == "pem_keys":
                return
            self.add_error(field if field in self.fields else None, e.message)


class PemKeyForm(forms.ModelForm):
    class Meta:
        model = ProfilePublicKey
        fields = ["public_key_pem"]
        widgets = {
            "public_key_pem": forms.Textarea(
                attrs={
                    "rows": 7,
                    "cols": 70,
                    "spellcheck": "false",
                    "class": "vLargeTextField",
                    "placeholder": "-----BEGIN PUBLIC KEY-----\n…\n-----END PUBLIC KEY-----",
                }
            )
        }
        help_texts = {
            "public_key_pem": _(
                "The issuer's PUBLIC key: RSA of 2048 bits or more, EC P-256/P-384/P-521 or "
                "Ed25519. Never a private key or a certificate."
            )
        }

    def clean_public_key_pem(self) -> str:
        try:
            return profile_service.normalised_public_key_pem(self.cleaned_data["public_key_pem"])
        except InvalidProfile as e:
            raise ValidationError(e.message) from e


class PemKeyFormSet(BaseInlineFormSet):
    """The key list as a whole: 1..5 keys for a PEM profile, none for a JWKS profile."""

    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        pems = [
            form.cleaned_data["public_key_pem"]
            for form in self.forms
            if form.cleaned_data.get("public_key_pem")
            and not (self.can_delete and form.cleaned_data.get("DELETE"))
        ]
        profile = self.instance
        if profile.public_key_type == TrustedAuthTokenProfile.KeyType.JWK:
            if pems:
                raise ValidationError(
                    _(
                        "A JWKS profile holds no PEM keys: tick Delete on each "
                        "key, or choose PEM public keys as the key type."
                    )
                )
            return
        try:
            profile_service.check_pem_keys(pems, list(profile.algorithms or []))
        except InvalidProfile as e:
            raise ValidationError(e.message) from e


class TestTokenForm(forms.Form):
    token = forms.CharField(
        label=_("token"),
        strip=True,
        widget=forms.Textarea(
            attrs={
                "rows": 6,
                "cols": 90,
                "spellcheck": "false",
                "autocomplete": "off",
                "class": "vLargeTextField",
            }
        ),
        help_text=_(
            "Paste a JWT. Every check runs; no session is started, the token is not "
            "marked as used and nothing is stored."
        ),
    )
