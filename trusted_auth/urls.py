"""Mount with ``path("", include("trusted_auth.urls"))``: the SDK expects the paths at the root."""

from django.urls import path, re_path

from trusted_auth import browser
from trusted_auth.api import (
    b2b_views,
    docs_views,
    fallback_views,
    organization_views,
    rbac_views,
    session_views,
    user_views,
    views,
)

app_name = "trusted_auth"

urlpatterns = [
    path("v1/sessions", session_views.SessionListView.as_view(), name="sessions"),
    path("v1/sessions/attest", views.AttestView.as_view(), name="attest"),
    path("v1/sessions/authenticate", session_views.AuthenticateView.as_view(), name="authenticate"),
    path("v1/sessions/revoke", session_views.RevokeView.as_view(), name="revoke"),
    path("v1/sessions/jwks/<str:project_id>", views.JwksView.as_view(), name="jwks"),
    path("v1/b2b/sessions", session_views.B2BSessionListView.as_view(), name="b2b-sessions"),
    path("v1/b2b/sessions/attest", b2b_views.B2BAttestView.as_view(), name="b2b-attest"),
    path(
        "v1/b2b/sessions/authenticate",
        session_views.B2BAuthenticateView.as_view(),
        name="b2b-authenticate",
    ),
    path("v1/b2b/sessions/revoke", session_views.B2BRevokeView.as_view(), name="b2b-revoke"),
    path("v1/b2b/sessions/jwks/<str:project_id>", b2b_views.B2BJwksView.as_view(), name="b2b-jwks"),
    # Users, organizations and members (the Stytch management API the SDKs call around attest).
    path("v1/users", user_views.UsersView.as_view(), name="users"),
    path("v1/users/search", user_views.UserSearchView.as_view(), name="users-search"),
    path("v1/users/<str:user_id>", user_views.UserView.as_view(), name="user"),
    path(
        "v1/b2b/organizations", organization_views.OrganizationsView.as_view(), name="organizations"
    ),
    path(
        "v1/b2b/organizations/search",
        organization_views.OrganizationSearchView.as_view(),
        name="organizations-search",
    ),
    path(
        "v1/b2b/organizations/members/search",
        organization_views.MemberSearchView.as_view(),
        name="members-search",
    ),
    path(
        "v1/b2b/organizations/<str:organization_id>",
        organization_views.OrganizationView.as_view(),
        name="organization",
    ),
    path(
        "v1/b2b/organizations/<str:organization_id>/members",
        organization_views.MembersView.as_view(),
        name="members",
    ),
    path(
        "v1/b2b/organizations/<str:organization_id>/member",
        organization_views.MemberLookupView.as_view(),
        name="member-lookup",
    ),
    path(
        "v1/b2b/organizations/<str:organization_id>/members/<str:member_id>",
        organization_views.MemberView.as_view(),
        name="member",
    ),
    path(
        "v1/b2b/organizations/<str:organization_id>/members/<str:member_id>/reactivate",
        organization_views.MemberReactivateView.as_view(),
        name="member-reactivate",
    ),
    # RBAC: the policy the SDKs fetch for local checks, and organization policies.
    path("v1/rbac/policy", rbac_views.PolicyView.as_view(), name="rbac-policy"),
    path("v1/b2b/rbac/policy", rbac_views.PolicyView.as_view(), name="b2b-rbac-policy"),
    path(
        "v1/b2b/rbac/organizations/<str:organization_id>",
        rbac_views.OrganizationPolicyView.as_view(),
        name="rbac-org-policy",
    ),
    # Last of the /v1/ routes: every other path there is a 404 in the error envelope.
    re_path(r"^v1/", fallback_views.UnknownEndpointView.as_view(), name="v1-not-found"),
    path("browser/exchange", browser.exchange_token, name="browser-exchange"),
    path("browser/logout", browser.logout_view, name="browser-logout"),
    path("metrics", views.MetricsView.as_view(), name="metrics"),
    # The API's documentation: error_url links point at the Errors reference.
    path("trusted_auth/errors", docs_views.errors_view, name="errors"),
    path("trusted_auth/openapi.yaml", docs_views.openapi_view, name="openapi"),
]
