"""Identity links in the admin: shown on each user identity and member, added or removed only
through the service the CLI uses (``links.link_explicitly`` / ``unlink``), so every
change made here is an operator link and is audited."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from trusted_auth.admin.public_ids import AdminMixinBase
from trusted_auth.errors import TrustedAuthError
from trusted_auth.identities import links
from trusted_auth.models import IdentityLink


class IdentityLinksInline(admin.TabularInline):
    """Existing links read-only; a new row is an explicit operator link."""

    model = IdentityLink
    fk_name = "identity"
    extra = 0
    fields = ("issuer", "kind", "subject", "origin", "profile", "created_at")
    readonly_fields = ("origin", "profile", "created_at")
    verbose_name = _("issuer link")
    verbose_name_plural = _(
        "issuer links (a token reaches this account only through one of these; a row added here "
        "is an explicit, audited operator link)"
    )

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class MemberLinksInline(IdentityLinksInline):
    fk_name = "member"
    exclude = ("identity", "organization")


class LinkFormsetMixin(AdminMixinBase):
    """``save_formset`` for ``*LinksInline``: new rows and deletions go through the service."""

    def save_formset(self, request, form, formset, change):
        if formset.model is not IdentityLink:
            return super().save_formset(request, form, formset, change)
        account = form.instance
        for row in formset.deleted_forms:
            link = row.instance
            if link.pk:
                self._apply(request, links.unlink, account, link)
        for row in formset.extra_forms:
            if row.has_changed() and not (formset.can_delete and row.cleaned_data.get("DELETE")):
                self._apply(request, links.link_explicitly, account, row.instance)
        formset.new_objects = formset.changed_objects = formset.deleted_objects = []
        return None

    def _apply(self, request, action, account, link: IdentityLink) -> None:
        external_id = link.subject if link.kind == IdentityLink.Kind.EXTERNAL_ID else None
        try:
            action(account, issuer=link.issuer, external_id=external_id)
        except TrustedAuthError as error:
            self.message_user(request, error.message, messages.ERROR)
