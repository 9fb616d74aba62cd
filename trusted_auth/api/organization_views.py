"""``/v1/b2b/organizations`` and their members. Thin: parse, call ``identities.organizations``."""

from __future__ import annotations

from typing import Any

from trusted_auth.api.b2b_shapes import member_shape, organization_shape
from trusted_auth.api.management_serializers import (
    MemberSearchSerializer,
    MemberSerializer,
    OrganizationSerializer,
    SearchSerializer,
)
from trusted_auth.api.views import ServerAPIView, request_context
from trusted_auth.identities import organizations


def _organization_fields(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": data.get("organization_name"),
        "slug": data.get("organization_slug"),
        "external_id": data.get("organization_external_id"),
        "email_allowed_domains": data.get("email_allowed_domains"),
        "trusted_metadata": data.get("trusted_metadata"),
    }


def _member_body(member) -> dict[str, Any]:
    return {
        "member_id": member.member_id,
        "member": member_shape(member),
        "organization": organization_shape(member.organization),
    }


class OrganizationsView(ServerAPIView):
    """``POST /v1/b2b/organizations``: create an organization."""

    def post(self, request):
        data = self.parse(OrganizationSerializer)
        fields = _organization_fields(data)
        organization = organizations.create_organization(
            **{k: v for k, v in fields.items() if v is not None},
            rbac_email_implicit_role_assignments=data.get("rbac_email_implicit_role_assignments"),
            context=request_context(request),
        )
        return self.ok({"organization": organization_shape(organization)})


class OrganizationSearchView(ServerAPIView):
    """``POST /v1/b2b/organizations/search``."""

    def post(self, request):
        page = organizations.search_organizations(**self.parse(SearchSerializer))
        return self.ok(
            {
                "organizations": [organization_shape(o) for o in page.results],
                "results_metadata": {"total": page.total, "next_cursor": page.next_cursor},
            }
        )


class OrganizationView(ServerAPIView):
    """``GET``/``PUT``/``DELETE /v1/b2b/organizations/{organization_id}`` (an id, slug or
    external id)."""

    def get(self, request, organization_id: str):
        organization = organizations.get_organization(organization_id)
        return self.ok({"organization": organization_shape(organization)})

    def put(self, request, organization_id: str):
        data = self.parse(OrganizationSerializer)
        organization = organizations.update_organization(
            organization_id,
            **_organization_fields(data),
            rbac_email_implicit_role_assignments=data.get("rbac_email_implicit_role_assignments"),
            context=request_context(request),
        )
        return self.ok({"organization": organization_shape(organization)})

    def delete(self, request, organization_id: str):
        deleted = organizations.delete_organization(
            organization_id, context=request_context(request)
        )
        return self.ok({"organization_id": deleted})


class MembersView(ServerAPIView):
    """``POST /v1/b2b/organizations/{organization_id}/members``: create a member."""

    def post(self, request, organization_id: str):
        data = self.parse(MemberSerializer)
        member = organizations.create_member(
            organization=organizations.get_organization(organization_id),
            email=data.get("email_address"),
            name=data.get("name"),
            external_id=data.get("external_id"),
            roles=data.get("roles"),
            trusted_metadata=data.get("trusted_metadata"),
            context=request_context(request),
        )
        return self.ok(_member_body(member))


class MemberLookupView(ServerAPIView):
    """``GET /v1/b2b/organizations/{organization_id}/member?member_id=|email_address=`` (the
    path the SDK's ``members.get`` calls)."""

    def get(self, request, organization_id: str):
        organization = organizations.get_organization(organization_id)
        member = organizations.get_member(
            organization,
            request.query_params.get("member_id"),
            email_address=request.query_params.get("email_address"),
        )
        return self.ok(_member_body(member))


class MemberView(ServerAPIView):
    """``GET``/``PUT``/``DELETE /v1/b2b/organizations/{organization_id}/members/{member_id}``."""

    def get(self, request, organization_id: str, member_id: str):
        organization = organizations.get_organization(organization_id)
        return self.ok(_member_body(organizations.get_member(organization, member_id)))

    def put(self, request, organization_id: str, member_id: str):
        data = self.parse(MemberSerializer)
        organization = organizations.get_organization(organization_id)
        member = organizations.update_member(
            organization, member_id, **data, context=request_context(request)
        )
        return self.ok(_member_body(member))

    def delete(self, request, organization_id: str, member_id: str):
        organization = organizations.get_organization(organization_id)
        member = organizations.delete_member(
            organization, member_id, context=request_context(request)
        )
        return self.ok({"member_id": member.member_id})


class MemberReactivateView(ServerAPIView):
    """``PUT /v1/b2b/organizations/{organization_id}/members/{member_id}/reactivate``."""

    def put(self, request, organization_id: str, member_id: str):
        organization = organizations.get_organization(organization_id)
        member = organizations.reactivate_member(
            organization, member_id, context=request_context(request)
        )
        return self.ok(_member_body(member))


class MemberSearchView(ServerAPIView):
    """``POST /v1/b2b/organizations/members/search``."""

    def post(self, request):
        page = organizations.search_members(**self.parse(MemberSearchSerializer))
        members = page.results
        return self.ok(
            {
                "members": [member_shape(m) for m in members],
                "results_metadata": {"total": page.total, "next_cursor": page.next_cursor},
                "organizations": {
                    m.organization.organization_id: organization_shape(m.organization)
                    for m in members
                },
            }
        )
