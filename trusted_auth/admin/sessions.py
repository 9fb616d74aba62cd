"""Sessions: find them (state, profile, organization, email, member, id) and revoke them. No
page shows a session token: only its digest is stored, and the admin leaves even that out."""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from trusted_auth import ids
from trusted_auth.admin.paging import CappedCountPaginator
from trusted_auth.admin.public_ids import (
    LIST_MEDIA,
    PublicIdAdminMixin,
    breakable,
    change_link,
    compact_time,
    copyable_id,
    two_lines,
)
from trusted_auth.admin.readonly import ReadOnlyAdminMixin
from trusted_auth.errors import SessionNotFound
from trusted_auth.models import Member, Organization, Session, TrustedAuthTokenProfile, UserIdentity
from trusted_auth.sessions.lifecycle import revoke_sessions
from trusted_auth.sessions.sessions import live_session_queryset

# A search matching more owners than this shows the sessions of the first ones found.
MAX_SEARCH_OWNERS = 1000

SESSION_FIELDS = (
    "session_id",
    "user",
    "member",
    "organization",
    "profile",
    "roles",
    "token_roles",
    "authentication_factors",
    "custom_claims",
    "ip_address",
    "user_agent",
    "started_at",
    "last_accessed_at",
    "expires_at",
    "revoked_at",
)


def session_state(session: Session) -> str:
    if session.revoked_at is not None:
        return "revoked"
    return "live" if session.expires_at > timezone.now() else "expired"


def session_owner(session: Session) -> str:
    """Who the session belongs to: the member's email, or the user's public identity."""
    if session.member is not None:
        return session.member.email
    if session.user is None:
        return "—"
    try:
        return session.user.trusted_auth_identity.email
    except ObjectDoesNotExist:
        return session.user.get_username()


class SessionStateFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any):
        return [("live", _("live")), ("expired", _("expired")), ("revoked", _("revoked"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        now = timezone.now()
        if self.value() == "live":
            return live_session_queryset(queryset, now=now)
        if self.value() == "expired":
            return queryset.filter(revoked_at__isnull=True, expires_at__lte=now)
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        return queryset


@admin.register(Session)
class SessionAdmin(PublicIdAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: sessions start by attesting a token, never by hand; revoke with the action
    (a revoked session stays visible until it expires)."""

    public_id_field = "session_id"
    list_display = ("short_session_id", "owner", "profile_name", "state", "started", "expires")
    list_display_links = None  # the short id is the link: its copy button must not be in one
    list_filter = (SessionStateFilter, "profile", "organization")
    search_fields = (
        "=session_id",
        "user__email",
        "user__trusted_auth_identity__email",
        "=user__trusted_auth_identity__user_id",
        "member__email",
        "=member__member_id",
        "=profile__profile_id",
        "=organization__organization_id",
    )
    search_help_text = _(
        "User or member email (part of it), or an exact session, user, member, profile or "
        "organization id."
    )
    list_select_related = ("user__trusted_auth_identity", "member", "organization", "profile")
    fields = SESSION_FIELDS
    actions = ["revoke_selected"]
    show_full_result_count = False
    paginator = CappedCountPaginator

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        """``search_fields``, each branch served by an index: the owners are looked up first
        (at most ``MAX_SEARCH_OWNERS`` each), then their sessions by indexed columns."""
        term = search_term.strip()
        if not term:
            return queryset, False
        limit = MAX_SEARCH_OWNERS
        user_pks = set(
            get_user_model()
            .objects.filter(email__icontains=term)
            .values_list("pk", flat=True)[:limit]
        ) | set(
            UserIdentity.objects.filter(Q(email__icontains=term) | Q(user_id=term)).values_list(
                "django_user_id", flat=True
            )[:limit]
        )
        member_pks = list(
            Member.objects.filter(Q(email__icontains=term) | Q(member_id=term)).values_list(
                "pk", flat=True
            )[:limit]
        )
        matches = Q(session_id=term) | Q(session_id=term.lower())
        # A profile's or an organization's public id: its sessions, by the indexed foreign key.
        if term.startswith(f"{ids.PROFILE}-"):
            matches |= Q(profile__in=TrustedAuthTokenProfile.objects.filter(profile_id=term))
        if term.startswith(f"{ids.ORGANIZATION}-"):
            matches |= Q(organization__in=Organization.objects.filter(organization_id=term))
        if user_pks:
            matches |= Q(user_id__in=sorted(user_pks))
        if member_pks:
            matches |= Q(member_id__in=member_pks)
        return queryset.filter(matches), False

    @property
    def media(self):
        return super().media + LIST_MEDIA

    @admin.display(description=_("session id"), ordering="session_id")
    def short_session_id(self, session: Session) -> str:
        return copyable_id(session.session_id, self.public_id_change_url(session.session_id))

    @admin.display(description=_("user or member"))
    def owner(self, session: Session) -> str:
        organization = session.organization.name if session.organization else ""
        return two_lines(breakable(session_owner(session)), organization)

    @admin.display(description=_("profile"), ordering="profile__name")
    def profile_name(self, session: Session) -> str:
        return session.profile.name if session.profile else "—"

    @admin.display(description=_("state"))
    def state(self, session: Session) -> str:
        return session_state(session)

    @admin.display(description=_("started"), ordering="started_at")
    def started(self, session: Session) -> str:
        return compact_time(session.started_at)

    @admin.display(description=_("expires"), ordering="expires_at")
    def expires(self, session: Session) -> str:
        return compact_time(session.expires_at)

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(f"{self.opts.app_label}.change_{self.opts.model_name}")

    @admin.action(description=_("Revoke selected sessions"), permissions=["revoke"])
    def revoke_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        revoked = 0
        targets = queryset.filter(revoked_at__isnull=True).values_list("session_id", "member_id")
        for session_id, member_id in targets:
            try:
                revoked += revoke_sessions(session_id=session_id, member=member_id is not None)
            except SessionNotFound:
                pass  # revoked by someone else meanwhile
        if revoked:
            self.message_user(
                request,
                ngettext("Revoked %(n)d session.", "Revoked %(n)d sessions.", revoked)
                % {"n": revoked},
                messages.SUCCESS,
            )
        else:
            self.message_user(
                request, _("The selected sessions were already revoked."), messages.WARNING
            )


class RecentSessionsInline(ReadOnlyAdminMixin, admin.TabularInline):
    """The latest sessions of an owner, read-only; the rest through the filtered session list."""

    model = Session
    fk_name: str
    fields: ClassVar[tuple[str, ...]] = (
        "session_link",
        "state",
        "profile",
        "started_at",
        "expires_at",
        "revoked_at",
    )
    limit = 20
    limit_ordering = ("-started_at", "-pk")
    verbose_name_plural = _("latest sessions (revoke them from the session list)")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("profile")

    @admin.display(description=_("session"))
    def session_link(self, session: Session) -> str:
        return change_link(session, session.session_id)

    @admin.display(description=_("state"))
    def state(self, session: Session) -> str:
        return session_state(session)


def latest_pks(queryset: QuerySet, limit: int, *ordering: str) -> list[int]:
    """The primary keys of the first ``limit`` rows: a formset's queryset cannot be sliced."""
    return list(queryset.order_by(*ordering).values_list("pk", flat=True)[:limit])


class LimitedInlinesMixin(admin.ModelAdmin):
    """Give inlines that declare a ``limit`` only their first ``limit`` rows."""

    def get_formset_kwargs(self, request, obj, inline, prefix):
        kwargs = super().get_formset_kwargs(request, obj, inline, prefix)
        if getattr(inline, "limit", None) and obj is not None and obj.pk is not None:
            queryset = inline.get_queryset(request)
            pks = latest_pks(
                queryset.filter(**{inline.fk_name: obj}), inline.limit, *inline.limit_ordering
            )
            kwargs["queryset"] = queryset.filter(pk__in=pks)
        return kwargs


class MemberSessionsInline(RecentSessionsInline):
    fk_name = "member"


class OrganizationSessionsInline(RecentSessionsInline):
    fk_name = "organization"
    fields = (
        "session_link",
        "member",
        "state",
        "profile",
        "started_at",
        "expires_at",
        "revoked_at",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("member")
