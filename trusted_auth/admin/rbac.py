"""The RBAC policy in the admin: resources as lines, roles as lines, and a permission matrix
(one row of checkboxes per role, one box per resource action or ``*``), saved through the same
``set_project_policy`` as ``trusted_auth rbac import`` (validated whole, audited, signalled)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from trusted_auth.admin.public_ids import change_link
from trusted_auth.errors import TrustedAuthError
from trusted_auth.internal.http import request_context
from trusted_auth.models import Member, RbacPolicy
from trusted_auth.rbac.policy import (
    DEFAULT_ROLES,
    WILDCARD,
    project_policy,
    set_project_policy,
    validate_policy,
)

ROLE_FIELD = "role__"
MEMBERS_SHOWN = 20


def _lines(text: str) -> list[tuple[str, str]]:
    """``key: rest`` per non-empty line."""
    pairs = []
    for line in text.splitlines():
        if line.strip():
            key, _colon, rest = line.partition(":")
            pairs.append((key.strip(), rest.strip()))
    return pairs


class RbacPolicyForm(forms.ModelForm):
    resources_text = forms.CharField(
        label=_("resources"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "cols": 80}),
        help_text=_("One per line: resource_id: action, action, … (e.g. documents: read, write)."),
    )
    roles_text = forms.CharField(
        label=_("roles"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "cols": 80}),
        help_text=_(
            "One per line: role_id: description. The default roles (stytch_user, stytch_member, "
            "stytch_admin) always exist. Save once to get a new role's or resource's row of "
            "permissions below."
        ),
    )

    class Meta:
        model = RbacPolicy
        fields: list[str] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        policy = project_policy()
        self.current = policy
        self.fields["resources_text"].initial = "\n".join(
            f"{r['resource_id']}: {', '.join(r['actions'])}" for r in policy["resources"]
        )
        self.fields["roles_text"].initial = "\n".join(
            f"{r['role_id']}: {r['description']}" for r in policy["roles"]
        )
        choices = [
            (f"{r['resource_id']}:{action}", f"{r['resource_id']}: {action}")
            for r in policy["resources"]
            for action in [*r["actions"], WILDCARD]
        ]
        for role in policy["roles"]:
            self.fields[ROLE_FIELD + role["role_id"]] = forms.MultipleChoiceField(
                label=role["role_id"],
                choices=choices,
                required=False,
                widget=forms.CheckboxSelectMultiple,
                initial=[
                    f"{p['resource_id']}:{action}"
                    for p in role["permissions"]
                    for action in p["actions"]
                ],
            )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or self.cleaned_data
        descriptions = {r["resource_id"]: r["description"] for r in self.current["resources"]}
        resources = [
            {
                "resource_id": resource_id,
                "description": descriptions.get(resource_id, ""),
                "actions": [a.strip() for a in actions.split(",") if a.strip()],
            }
            for resource_id, actions in _lines(cleaned.get("resources_text") or "")
        ]
        kept = {r["resource_id"] for r in resources}
        listed = _lines(cleaned.get("roles_text") or "")
        named = {role_id for role_id, _description in listed}
        listed += [(r, d) for r, d in DEFAULT_ROLES.items() if r not in named]  # always exist
        roles = []
        for role_id, description in listed:
            granted: dict[str, list[str]] = {}
            for choice in cleaned.get(ROLE_FIELD + role_id) or []:
                resource_id, _colon, action = choice.rpartition(":")
                if resource_id in kept:
                    granted.setdefault(resource_id, []).append(action)
            permissions = [{"resource_id": r, "actions": a} for r, a in granted.items()]
            roles.append(
                {"role_id": role_id, "description": description, "permissions": permissions}
            )
        document = {"resources": resources, "roles": roles, "scopes": self.current["scopes"]}
        try:
            self.policy = validate_policy(document)
        except TrustedAuthError as e:
            raise forms.ValidationError(e.message) from e
        return cleaned


@admin.register(RbacPolicy)
class RbacPolicyAdmin(admin.ModelAdmin):
    form = RbacPolicyForm
    readonly_fields = ("members_by_role", "updated_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not RbacPolicy.objects.exists() and super().has_add_permission(request)

    def get_fieldsets(self, request: HttpRequest, obj: Any = None):
        form = self.form()
        matrix = tuple(name for name in form.fields if name.startswith(ROLE_FIELD))
        return [
            (None, {"fields": ("resources_text", "roles_text")}),
            (_("Permissions"), {"fields": matrix}),
            (_("Members"), {"fields": ("members_by_role", "updated_at")}),
        ]

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs):
        kwargs["fields"] = ["resources_text", "roles_text"]  # the matrix fields are dynamic
        return super().get_form(request, obj, change, **kwargs)

    def save_model(self, request: HttpRequest, obj: RbacPolicy, form: Any, change: bool) -> None:
        set_project_policy(form.policy, context=request_context(request))

    @admin.display(description=_("members by role"))
    def members_by_role(self, obj: RbacPolicy | None) -> str:
        rows = []
        for role in project_policy()["roles"]:
            role_id = role["role_id"]
            if role_id in DEFAULT_ROLES and role_id != "stytch_admin":
                continue  # held by every session of its kind
            members = Member.objects.filter(roles__icontains=f'"{role_id}"').select_related(
                "organization"
            )[: MEMBERS_SHOWN + 1]
            links = format_html_join(
                ", ", "{}", ((change_link(m, m.email),) for m in members[:MEMBERS_SHOWN])
            )
            more = "…" if len(members) > MEMBERS_SHOWN else ""
            rows.append(format_html("<li><b>{}</b>: {}{}</li>", role_id, links or "—", more))
        return format_html("<ul>{}</ul>", format_html_join("", "{}", ((r,) for r in rows)))
