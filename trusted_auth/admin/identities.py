"""Users' companion records, organizations and members, each with its latest sessions."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from trusted_auth.admin.links import IdentityLinksInline, LinkFormsetMixin, MemberLinksInline
from trusted_auth.admin.public_ids import PublicIdAdminMixin, change_link
from trusted_auth.admin.readonly import ReadOnlyAdminMixin
from trusted_auth.admin.sessions import (
    LimitedInlinesMixin,
    MemberSessionsInline,
    OrganizationSessionsInline,
    RecentSessionsInline,
    session_state,
)
from trusted_auth.errors import TrustedAuthError
from trusted_auth.identities.emails import validate_email_address
from trusted_auth.identities.organizations import (
    check_references,
    lock_references,
    normalise_domains,
    validate_roles,
)
from trusted_auth.models import Member, Organization, Session, UserIdentity
from trusted_auth.rbac.policy import defined_role_ids


def _session_list_url(**filters: Any) -> str:
    query = "&".join(f"{key}={value}" for key, value in filters.items())
    return reverse("admin:trusted_auth_session_changelist") + "?" + query


def _email_rule(value: str) -> str:
    """The one email rule (``identities.emails``), as a form error next to the field."""
    try:
        return validate_email_address(value)
    except TrustedAuthError as e:
        raise forms.ValidationError(e.message) from e


class UserIdentityForm(forms.ModelForm):
    def clean_email(self) -> str:
        return _email_rule(self.cleaned_data["email"])


@admin.register(UserIdentity)
class UserIdentityAdmin(PublicIdAdminMixin, LinkFormsetMixin, admin.ModelAdmin):
    public_id_field = "user_id"
    form = UserIdentityForm
    list_display = ("user_id", "email", "external_id", "status", "provisioned_by", "created_at")
    list_filter = ("status",)
    search_fields = ("=user_id", "email", "=external_id", "django_user__username")
    list_select_related = ("django_user",)
    raw_id_fields = ("django_user",)
    readonly_fields = ("user_id", "created_at", "latest_sessions")
    fields = (
        "user_id",
        "django_user",
        "email",
        "name",
        "external_id",
        "status",
        "provisioned_by",
        "created_at",
        "latest_sessions",
    )
    inlines = [IdentityLinksInline]
    show_full_result_count = False

    @admin.display(description=_("latest sessions"))
    def latest_sessions(self, identity: UserIdentity) -> str:
        if not identity.pk:
            return "—"
        sessions = (
            Session.objects.filter(user_id=identity.django_user_id)
            .select_related("profile")
            .order_by("-started_at", "-pk")[: RecentSessionsInline.limit]
        )
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    change_link(s, s.session_id),
                    session_state(s),
                    s.profile or "—",
                    f"{s.started_at:%Y-%m-%d %H:%M}",
                )
                for s in sessions
            ),
        )
        return format_html(
            "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>"
            '</thead><tbody>{}</tbody></table><p><a href="{}">{}</a></p>',
            _("session"),
            _("state"),
            _("profile"),
            _("started"),
            rows,
            _session_list_url(user__id__exact=identity.django_user_id),
            _("All sessions of this user (revoke them there)"),
        )


class OrganizationForm(forms.ModelForm):
    email_allowed_domains = forms.CharField(
        label=_("email allowed domains"),
        required=False,
        help_text=_(
            "Comma-separated, e.g. acme.com, acme.co.uk. JIT-provisioned members must "
            "have an email in one of them; empty allows any domain."
        ),
    )

    class Meta:
        model = Organization
        fields = ["name", "slug", "external_id", "email_allowed_domains"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.initial["email_allowed_domains"] = ", ".join(self.instance.email_allowed_domains or [])

    def clean_email_allowed_domains(self) -> list[str]:
        domains = normalise_domains(re.split(r"[,\s]+", self.cleaned_data["email_allowed_domains"]))
        bad = [d for d in domains if "." not in d or "/" in d]
        if bad:
            raise forms.ValidationError(_("Not a domain: %(bad)s."), params={"bad": ", ".join(bad)})
        return domains

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        candidate = Organization(
            pk=self.instance.pk,
            slug=cleaned.get("slug", self.instance.slug) or "",
            external_id=cleaned.get("external_id", self.instance.external_id) or "",
        )
        try:
            check_references(candidate)  # the API's rule: one reference, one organization
        except TrustedAuthError as e:
            slug = e.message.startswith("organization_slug")
            self.add_error("slug" if slug else "external_id", e.message)
        return cleaned


class MembersInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Member
    fk_name = "organization"
    fields = ("member_link", "email", "name", "role_list", "status")
    limit = 50
    limit_ordering = ("email", "pk")
    show_change_link = False
    verbose_name_plural = _("members (first 50 by email)")

    @admin.display(description=_("roles"))
    def role_list(self, member: Member) -> str:
        return ", ".join(member.roles or []) or "—"

    @admin.display(description=_("member"))
    def member_link(self, member: Member) -> str:
        return change_link(member, member.member_id)


@admin.register(Organization)
class OrganizationAdmin(PublicIdAdminMixin, LimitedInlinesMixin, admin.ModelAdmin):
    public_id_field = "organization_id"
    form = OrganizationForm
    list_display = ("name", "slug", "organization_id", "external_id", "created_at")
    search_fields = ("name", "slug", "=organization_id", "=external_id")
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ("organization_id", "created_at", "links")
    fields = (
        "organization_id",
        "name",
        "slug",
        "external_id",
        "email_allowed_domains",
        "created_at",
        "links",
    )
    inlines = [MembersInline, OrganizationSessionsInline]

    def save_model(self, request: HttpRequest, obj: Organization, form: Any, change: bool) -> None:
        # The admin's view runs in a transaction: a concurrent writer of the same value waits
        # here, then the rule is checked again (a loud failure, never two tenants for a name).
        lock_references(obj)
        check_references(obj)
        super().save_model(request, obj, form, change)

    @admin.display(description=_("see also"))
    def links(self, organization: Organization) -> str:
        if not organization.pk:
            return "—"
        return format_html(
            '<a href="{}">{}</a> · <a href="{}">{}</a>',
            reverse("admin:trusted_auth_member_changelist")
            + f"?organization__id__exact={organization.pk}",
            _("All members"),
            _session_list_url(organization__id__exact=organization.pk),
            _("All sessions"),
        )


class MemberForm(forms.ModelForm):
    roles = forms.MultipleChoiceField(
        label=_("roles"), required=False, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = Member
        fields = ["organization", "email", "name", "external_id", "roles", "status", "django_user"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        organization = self.instance.organization if self.instance.organization_id else None
        known = sorted(defined_role_ids(organization.organization_id if organization else None))
        # A role the policy no longer defines stays visible, so saving does not drop it silently.
        extra = [r for r in (self.instance.roles or []) if r not in known]
        roles = self.fields["roles"]
        assert isinstance(roles, forms.MultipleChoiceField)
        roles.choices = [(r, r) for r in known + extra]
        self.fields["roles"].help_text = _(
            "Roles are defined by the RBAC policy (the project's and the organization's)."
        )

    def clean_email(self) -> str:
        return _email_rule(self.cleaned_data["email"])

    def clean_roles(self) -> list[str]:
        try:
            return validate_roles(
                list(self.cleaned_data["roles"]), self.cleaned_data.get("organization")
            )
        except TrustedAuthError as e:
            raise forms.ValidationError(e.message) from e


@admin.register(Member)
class MemberAdmin(PublicIdAdminMixin, LinkFormsetMixin, LimitedInlinesMixin, admin.ModelAdmin):
    public_id_field = "member_id"
    form = MemberForm
    list_display = (
        "email",
        "member_id",
        "organization",
        "name",
        "role_list",
        "status",
        "created_at",
    )
    list_filter = ("status", "organization")
    search_fields = (
        "email",
        "=member_id",
        "=external_id",
        "name",
        "=organization__organization_id",
    )
    list_select_related = ("organization",)
    raw_id_fields = ("organization", "django_user")
    readonly_fields = ("member_id", "created_at", "links")
    fields = (
        "member_id",
        "organization",
        "email",
        "name",
        "external_id",
        "roles",
        "status",
        "django_user",
        "created_at",
        "links",
    )
    inlines = [MemberLinksInline, MemberSessionsInline]
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("organization")

    @admin.display(description=_("roles"))
    def role_list(self, member: Member) -> str:
        return ", ".join(member.roles or []) or "—"

    @admin.display(description=_("see also"))
    def links(self, member: Member) -> str:
        if not member.pk:
            return "—"
        return format_html(
            '<a href="{}">{}</a>',
            _session_list_url(member__id__exact=member.pk),
            _("All sessions of this member (revoke them there)"),
        )
