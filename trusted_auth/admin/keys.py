"""Our session signing keys (rotate and retire, with the CLI's service) and API secrets."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from trusted_auth.admin.public_ids import PublicIdAdminMixin
from trusted_auth.admin.readonly import ReadOnlyAdminMixin
from trusted_auth.errors import TrustedAuthError
from trusted_auth.models import ApiSecret, SigningKey
from trusted_auth.sessions import signing_keys
from trusted_auth.sessions.secrets import revoke_secret

KEY_FIELDS = (
    "kid",
    "state",
    "algorithm",
    "key_size",
    "public_jwk",
    "created_at",
    "activated_at",
    "deactivated_at",
)


@admin.register(SigningKey)
class SigningKeyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only rows; the changelist's Rotate and Retire buttons call ``signing_keys``."""

    change_list_template = "admin/trusted_auth/signingkey/change_list.html"
    list_display = tuple(name for name in KEY_FIELDS if name != "public_jwk")
    list_filter = ("state",)
    search_fields = ("=kid",)
    fields = KEY_FIELDS
    # Read-only, never deleted: retire instead (a deleted key could still be in live JWTs).

    def can_manage(self, request: HttpRequest) -> bool:
        return request.user.has_perm(f"{self.opts.app_label}.change_{self.opts.model_name}")

    def get_urls(self):
        views = {"rotate": self.rotate_view, "retire": self.retire_view}
        return [
            path(
                f"{name}/", self.admin_site.admin_view(view), name=f"trusted_auth_signingkey_{name}"
            )
            for name, view in views.items()
        ] + super().get_urls()

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None):
        extra_context = {**(extra_context or {}), "can_manage_keys": self.can_manage(request)}
        return super().changelist_view(request, extra_context)

    def _run(self, request: HttpRequest, action) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.can_manage(request):
            raise PermissionDenied
        try:
            message = action()
        except TrustedAuthError as e:
            self.message_user(request, e.message, messages.ERROR)
        else:
            self.message_user(request, message, messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:trusted_auth_signingkey_changelist"))

    def rotate_view(self, request: HttpRequest) -> HttpResponse:
        def rotate() -> str:
            result = signing_keys.rotate(promote=request.POST.get("promote") == "on")
            if result["action"] == "published":
                return _("Published key %(kid)s as next: it signs once promoted.") % result
            return _("Key %(kid)s now signs; the old one is previous.") % result

        return self._run(request, rotate)

    def retire_view(self, request: HttpRequest) -> HttpResponse:
        def retire() -> str:
            kids = signing_keys.retire(force=request.POST.get("force") == "on")["kids"]
            if not kids:
                return str(_("No previous key to retire."))
            return str(_("Retired %(kids)s: gone from the JWKS.") % {"kids": ", ".join(kids)})

        return self._run(request, retire)


@admin.register(ApiSecret)
class ApiSecretAdmin(PublicIdAdminMixin, admin.ModelAdmin):
    """Secrets are created with ``manage.py trusted_auth secret create`` (shown once there);
    only the description is editable here."""

    public_id_field = "secret_id"
    search_fields = ("=secret_id", "description")
    fields = (
        "secret_id",
        "last_four",
        "description",
        "created_at",
        "last_used_at",
        "revoked_at",
        "replaces",
    )
    list_display = fields[:-1]
    readonly_fields = tuple(name for name in fields if name != "description")
    actions = ["revoke_selected"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # the clear text is shown once, by the CLI

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description=_("Revoke selected secrets"), permissions=["change"])
    def revoke_selected(self, request: HttpRequest, queryset) -> None:
        ids = list(queryset.filter(revoked_at__isnull=True).values_list("secret_id", flat=True))
        for secret_id in ids:
            revoke_secret(secret_id)
        self.message_user(
            request,
            ngettext("Revoked %(n)d secret.", "Revoked %(n)d secrets.", len(ids)) % {"n": len(ids)},
            messages.SUCCESS,
        )
