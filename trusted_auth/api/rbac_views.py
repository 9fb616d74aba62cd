"""RBAC policy endpoints: the project policy (consumer and B2B paths) and organization policies,
in the shapes the official SDKs parse for their local authorization checks."""

from __future__ import annotations

from trusted_auth.api.views import ServerAPIView, request_context
from trusted_auth.errors import BadRequest
from trusted_auth.identities.organizations import get_organization
from trusted_auth.rbac.policy import organization_roles, project_policy, set_organization_policy


class PolicyView(ServerAPIView):
    """``GET /v1/rbac/policy`` and ``GET /v1/b2b/rbac/policy``: the project policy."""

    def get(self, request):
        return self.ok({"policy": project_policy()})


class OrganizationPolicyView(ServerAPIView):
    """``GET``/``PUT /v1/b2b/rbac/organizations/{organization_id}``: the organization's roles."""

    def get(self, request, organization_id: str):
        organization = get_organization(organization_id)
        roles = organization_roles(organization.organization_id)
        return self.ok({"org_policy": {"roles": roles}})

    def put(self, request, organization_id: str):
        organization = get_organization(organization_id)
        body = request.data
        if not isinstance(body, dict) or "org_policy" not in body:
            raise BadRequest("org_policy is required")
        roles = set_organization_policy(
            organization, body["org_policy"], context=request_context(request)
        )
        return self.ok({"org_policy": {"roles": roles}})
