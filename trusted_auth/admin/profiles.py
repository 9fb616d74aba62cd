"""Trusted auth token profiles, saved through the CLI's write path, and the "test a token"
page (a dry run). The add page can start from a preset or from OIDC discovery.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters

from trusted_auth.admin.forms import (
    MAPPING_KEYS,
    PemKeyForm,
    PemKeyFormSet,
    ProfileForm,
    TestTokenForm,
    mapping_field_name,
)
from trusted_auth.admin.public_ids import (
    LIST_MEDIA,
    PublicIdAdminMixin,
    breakable,
    copyable_id,
    two_lines,
)
from trusted_auth.errors import TrustedAuthError
from trusted_auth.issuers import profiles as profile_service
from trusted_auth.issuers.discovery import discover_issuer
from trusted_auth.issuers.dry_run import dry_run_token
from trusted_auth.issuers.issuer_keys import cached_keyset, store_keyset
from trusted_auth.issuers.presets import PRESETS, build_preset, list_presets
from trusted_auth.issuers.profile_json import pem_key_as_dict
from trusted_auth.issuers.verification import PIPELINE_STEPS
from trusted_auth.models import AuditEvent, ProfilePublicKey, TrustedAuthTokenProfile
from trusted_auth.models.profiles import MAX_PEM_KEYS

TIME_CLAIMS = ("iat", "nbf", "exp")
MAX_START_PARAMS = 10
TEST_TOKEN_URL_NAME = "trusted_auth_trustedauthtokenprofile_test_token"


def parse_preset_params(text: str) -> dict[str, str]:
    """``KEY=VALUE`` pairs separated by spaces, commas or new lines (the add page's box)."""
    params: dict[str, str] = {}
    for pair in text.replace(",", " ").split()[:MAX_START_PARAMS]:
        key, separator, value = pair.partition("=")
        if not separator or not key:
            raise TrustedAuthError(f"expected KEY=VALUE, got {pair[:80]!r}")
        params[key] = value
    return params


def initial_from_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """Profile fields (a preset's or discovery's) as the add form's initial values."""
    initial: dict[str, Any] = {
        key: fields[key]
        for key in ("name", "issuer", "audience", "jwks_url", "algorithms")
        if fields.get(key)
    }
    if "max_token_lifetime_seconds" in fields:
        initial["max_token_lifetime_seconds"] = fields["max_token_lifetime_seconds"]
    if fields.get("jwks_url"):
        initial["public_key_type"] = TrustedAuthTokenProfile.KeyType.JWK
    if fields.get("untrusted_claims"):
        initial["untrusted_claims"] = "\n".join(fields["untrusted_claims"])
    for key in MAPPING_KEYS:
        initial[mapping_field_name(key)] = (fields.get("attribute_mapping") or {}).get(key, "")
    return initial


def keys_table(keys: list[dict[str, Any]]) -> str:
    """kid, kty, alg (and curve) of JWKS keys as a small HTML table."""
    rows = format_html_join(
        "",
        "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (k.get("kid", "—"), k.get("kty", "—"), k.get("alg", "any that fits"), k.get("crv", ""))
            for k in keys
        ),
    )
    return format_html(
        '<table class="jwks-keys"><thead><tr><th>kid</th><th>kty</th><th>alg</th>'
        "<th>crv</th></tr></thead><tbody>{}</tbody></table>",
        rows,
    )


class ProfilePublicKeyInline(admin.StackedInline):
    model = ProfilePublicKey
    form = PemKeyForm
    formset = PemKeyFormSet
    fields = ("public_key_pem", "key_summary")
    readonly_fields = ("key_summary",)
    max_num = MAX_PEM_KEYS
    verbose_name = _("PEM public key")
    verbose_name_plural = _("PEM public keys (PEM profiles: 1 to 5)")

    def get_extra(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> int:
        return 0 if obj is not None else 1  # a new profile starts with one empty key box

    @admin.display(description=_("key"))
    def key_summary(self, row: ProfilePublicKey) -> str:
        if not row.pk:
            return "—"
        described = pem_key_as_dict(row)
        return format_html(
            "{} · {} · SHA-256 {}",
            described["key_id"],
            described["key_type"],
            described["sha256_fingerprint"] or "—",
        )


@admin.register(TrustedAuthTokenProfile)
class TrustedAuthTokenProfileAdmin(PublicIdAdminMixin, admin.ModelAdmin):
    public_id_field = "profile_id"
    form = ProfileForm
    inlines = [ProfilePublicKeyInline]
    list_display = (
        "name",
        "short_profile_id",
        "issuer_and_audience",
        "public_key_type",
        "can_jit_provision",
        "tools",
    )
    list_filter = ("public_key_type", "can_jit_provision", "link_policy", "replay_policy")
    search_fields = ("name", "profile_id", "issuer", "audience")
    readonly_fields = ("profile_id", "jwks_keys", "created_at", "updated_at")
    save_on_top = True

    def get_fieldsets(self, request: HttpRequest, obj: Any = None):
        """Identity and Keys come first and the PEM key inline right after them (the change
        form template); the JWKS keys row only on a JWKS profile."""
        jwks = obj is not None and obj.public_key_type == TrustedAuthTokenProfile.KeyType.JWK
        return [
            (_("Identity"), {"fields": ("name", "profile_id", "issuer", "audience")}),
            (
                _("Keys"),
                {
                    "fields": ("public_key_type", "jwks_url", *(("jwks_keys",) if jwks else ())),
                    "description": _(
                        "Trust a JWKS URL, or up to five PEM public keys (right below)."
                    ),
                },
            ),
            (
                _("Attribute mapping"),
                {
                    "fields": (
                        *(mapping_field_name(key) for key in MAPPING_KEYS),
                        "untrusted_claims",
                    ),
                    "description": _(
                        "Which claim of the token gives each attribute. Bold ones are required. "
                        "A dotted path reaches into nested claims: user_metadata.full_name reads "
                        '{"user_metadata": {"full_name": …}}. A claim name that itself contains a '
                        "dot cannot be mapped."
                    ),
                },
            ),
            (
                _("Policy"),
                {
                    "fields": (
                        "can_jit_provision",
                        "can_jit_create_organizations",
                        "algorithms",
                        "leeway_seconds",
                        "max_token_lifetime_seconds",
                        "replay_policy",
                        "link_policy",
                        "require_verified_email",
                        "grantable_roles",
                    )
                },
            ),
            (_("History"), {"fields": ("created_at", "updated_at"), "classes": ("collapse",)}),
        ]

    @admin.display(description=_("JWKS keys"))
    def jwks_keys(self, profile: TrustedAuthTokenProfile) -> str:
        if profile.public_key_type != TrustedAuthTokenProfile.KeyType.JWK or not profile.pk:
            return "—"
        keyset = cached_keyset(profile)
        if keyset is None:
            return str(_("Not in the cache now; saving the profile fetches the JWKS again."))
        fetched = datetime.fromtimestamp(keyset.fetched_at, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")
        return format_html(
            '{}<p class="help">{} {} UTC</p>', keys_table(keyset.keys), _("Fetched"), fetched
        )

    @property
    def media(self):
        return super().media + LIST_MEDIA

    @admin.display(description=_("profile id"), ordering="profile_id")
    def short_profile_id(self, profile: TrustedAuthTokenProfile) -> str:
        return copyable_id(profile.profile_id)

    @admin.display(description=_("issuer · audience"), ordering="issuer")
    def issuer_and_audience(self, profile: TrustedAuthTokenProfile) -> str:
        return two_lines(breakable(profile.issuer), breakable(profile.audience))

    @admin.display(description=_("tools"))
    def tools(self, profile: TrustedAuthTokenProfile) -> str:
        return format_html(
            '<a href="{}">{}</a><br><a href="{}">{}</a>',
            self.test_token_url(profile),
            _("Test a token"),
            failed_attests_url(profile),
            _("Failed attests"),
        )

    def test_token_url(self, profile: TrustedAuthTokenProfile) -> str:
        return reverse(f"{self.admin_site.name}:{TEST_TOKEN_URL_NAME}", args=[profile.pk])

    def save_model(
        self, request: HttpRequest, obj: TrustedAuthTokenProfile, form: ProfileForm, change: bool
    ) -> None:
        """Nothing yet: ``save_related`` saves the profile and its keys in one service call."""

    def save_related(
        self, request: HttpRequest, form: ProfileForm, formsets: list[Any], change: bool
    ) -> None:
        profile = form.instance
        is_pem = profile.public_key_type == TrustedAuthTokenProfile.KeyType.PEM
        # The CLI's write path: the same rules, then the row and its keys in one transaction.
        keys = profile_service.save_profile(profile, form.submitted_pems if is_pem else None)
        form.save_m2m()
        for formset in formsets:
            if formset.model is ProfilePublicKey:
                # For the history entry (construct_change_message reads these).
                formset.new_objects, formset.changed_objects = keys.added, []
                formset.deleted_objects = keys.removed
            else:
                self.save_formset(request, form, formset, change=change)
        if form.key_type_switched_to is not None:
            self.message_user(
                request,
                _("Key type set to %(kind)s: that is what the form was given.")
                % {"kind": TrustedAuthTokenProfile.KeyType(form.key_type_switched_to).label},
                messages.INFO,
            )
        fetched = form.fetched_jwks
        if fetched is not None and not is_pem:
            store_keyset(profile, fetched.keys)
            self.message_user(
                request,
                _("JWKS fetched: %(n)d usable key(s): %(kids)s.")
                % {"n": len(fetched.keys), "kids": profile_service.describe_jwks_keys(fetched)},
                messages.SUCCESS,
            )
            if fetched.dropped:
                dropped = "; ".join(
                    f"{d['kid'] or '(no kid)'}: {d['reason']}" for d in fetched.dropped
                )
                self.message_user(
                    request,
                    _("Dropped from the JWKS: %(dropped)s.") % {"dropped": dropped},
                    messages.WARNING,
                )

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        """``?preset=NAME&params=…`` or ``?discover=ISSUER_URL`` fill the add form; what was
        found (or why nothing was) is said in a message. Nothing is saved here."""
        initial = super().get_changeform_initial_data(request)
        for name in ("preset", "params", "discover"):
            initial.pop(name, None)
        preset = request.GET.get("preset", "")
        issuer = request.GET.get("discover", "").strip()
        try:
            if preset:
                fields = build_preset(preset, parse_preset_params(request.GET.get("params", "")))
                initial.update(initial_from_fields(fields))
                self.message_user(
                    request,
                    _(
                        "Filled from the %(title)s preset: issuer %(issuer)s, JWKS %(jwks)s. "
                        "Check the fields, then save."
                    )
                    % {
                        "title": PRESETS[preset].title,
                        "issuer": fields["issuer"],
                        "jwks": fields["jwks_url"],
                    },
                    messages.INFO,
                )
                if PRESETS[preset].notes:
                    self.message_user(request, PRESETS[preset].notes, messages.WARNING)
            elif issuer:
                found = discover_issuer(issuer)
                initial.update(
                    initial_from_fields(
                        {
                            "name": found.issuer.split("://", 1)[-1].rstrip("/"),
                            "issuer": found.issuer,
                            "jwks_url": found.jwks_url,
                            "algorithms": found.algorithms,
                            "attribute_mapping": found.suggested_mapping(),
                        }
                    )
                )
                self.message_user(
                    request,
                    _("Discovered: %(summary)s Nothing is saved until you save the form.")
                    % {"summary": found.summary()},
                    messages.INFO,
                )
        except TrustedAuthError as e:
            what = _("Discovery") if issuer and not preset else _("The preset")
            self.message_user(
                request,
                _("%(what)s failed: %(why)s") % {"what": what, "why": e.message},
                messages.ERROR,
            )
            if issuer and not preset:
                initial["issuer"] = issuer
        return initial

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        extra_context = {
            **(extra_context or {}),
            "presets": list_presets(),
            "chosen_preset": request.GET.get("preset", ""),
            "preset_params": request.GET.get("params", ""),
            "discover_url": request.GET.get("discover", ""),
        }
        return super().add_view(request, form_url, extra_context)

    def get_urls(self):
        view = self.admin_site.admin_view(self.test_token_view)
        test_token = path("<path:object_id>/test-token/", view, name=TEST_TOKEN_URL_NAME)
        return [test_token, *super().get_urls()]

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        profile = self.get_object(request, unquote(object_id))
        if profile is not None:
            sessions_url = reverse(f"{self.admin_site.name}:trusted_auth_session_changelist")
            extra_context = {
                **(extra_context or {}),
                "test_token_url": self.test_token_url(profile),
                "failed_attests_url": failed_attests_url(profile),
                "sessions_url": f"{sessions_url}?profile__id__exact={profile.pk}",
            }
        return super().change_view(request, object_id, form_url, extra_context)

    @method_decorator(never_cache)
    @method_decorator(sensitive_post_parameters("token"))
    def test_token_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        profile = self.get_object(request, unquote(object_id))
        if profile is None:
            raise Http404(_("No such profile."))
        if not self.has_view_or_change_permission(request, profile):
            raise PermissionDenied
        result = None
        form = TestTokenForm(request.POST if request.method == "POST" else None)
        if form.is_valid():
            result = dry_run_context(dry_run_token(profile.profile_id, form.cleaned_data["token"]))
            form = TestTokenForm()  # the token is not echoed back into the page
        opts = self.model._meta
        context = {
            **self.admin_site.each_context(request),
            "opts": opts,
            "profile": profile,
            "form": form,
            "result": result,
            "title": _("Test a token against %(name)s") % {"name": profile.name},
            "failed_attests_url": failed_attests_url(profile),
        }
        return TemplateResponse(
            request, "admin/trusted_auth/trustedauthtokenprofile/test_token.html", context
        )


def failed_attests_url(profile: TrustedAuthTokenProfile) -> str:
    return (
        reverse("admin:trusted_auth_auditevent_changelist")
        + f"?outcome__exact={AuditEvent.Outcome.FAILURE}&profile__id__exact={profile.pk}"
    )


def _pretty(value: Any) -> str | None:
    return None if value is None else json.dumps(value, indent=2, sort_keys=True, default=str)


def _time_claims(claims: dict[str, Any] | None) -> list[tuple[str, str]]:
    rows = []
    now = datetime.now(tz=UTC)
    for name in TIME_CLAIMS:
        value = (claims or {}).get(name)
        if isinstance(value, int | float) and not isinstance(value, bool):
            try:
                moment = datetime.fromtimestamp(value, tz=UTC)
            except (OverflowError, OSError, ValueError):
                continue
            delta = int((moment - now).total_seconds())
            when = f"in {delta} s" if delta >= 0 else f"{-delta} s ago"
            rows.append((name, f"{moment:%Y-%m-%d %H:%M:%S} UTC ({when})"))
    return rows


def dry_run_context(dry_run) -> dict[str, Any]:
    """What the test-token page shows: each pipeline step (run or not), header, claims and
    mapped attributes."""
    ran = {check.name: check for check in dry_run.trace.checks}
    steps = []
    for name in PIPELINE_STEPS:
        check = ran.get(name)
        steps.append(
            {
                "name": name,
                "status": "not run" if check is None else ("pass" if check.passed else "fail"),
                "detail": "" if check is None else check.detail,
            }
        )
    claims = dry_run.trace.claims
    return {
        "passed": dry_run.passed,
        "error": dry_run.error,
        "failed_check": dry_run.failed_check,
        "steps": steps,
        "header": _pretty(dry_run.trace.header),
        "claims": _pretty(claims),
        "unverified_claims": _pretty(dry_run.unverified_claims),
        "time_claims": _time_claims(claims if claims is not None else dry_run.unverified_claims),
        "attributes": _pretty(dry_run.trace.attributes),
    }
