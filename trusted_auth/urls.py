"""Mount with ``path("", include("trusted_auth.urls"))``: the SDK expects the paths at the root.

Mount it where ``ISSUER`` points. When ``ISSUER`` has a path (``https://host/auth``), also add
``well_known_urlpatterns`` to the root URLconf: RFC 8414 puts the OAuth metadata at
``https://host/.well-known/oauth-authorization-server/auth``.
"""

from django.urls import path, re_path

from trusted_auth import browser
from trusted_auth.api import (
    b2b_views,
    docs_views,
    fallback_views,
    oauth_views,
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
    # The OAuth face (trusted_auth.oauth): OpenID Connect appends its well-known path to ISSUER.
    path(
        ".well-known/openid-configuration",
        oauth_views.MetadataView.as_view(),
        name="openid-configuration",
    ),
    path(
        ".well-known/oauth-authorization-server",
        oauth_views.MetadataView.as_view(),
        name="oauth-authorization-server",
    ),
    path("oauth2/token", oauth_views.TokenView.as_view(), name="oauth-token"),
    path("oauth2/introspect", oauth_views.IntrospectView.as_view(), name="oauth-introspect"),
    path("oauth2/revoke", oauth_views.RevokeView.as_view(), name="oauth-revoke"),
    path("browser/exchange", browser.exchange_token, name="browser-exchange"),
    path("browser/logout", browser.logout_view, name="browser-logout"),
    path("metrics", views.MetricsView.as_view(), name="metrics"),
    # The API's documentation: error_url links point at the Errors reference.
    path("trusted_auth/errors", docs_views.errors_view, name="errors"),
    path("trusted_auth/openapi.yaml", docs_views.openapi_view, name="openapi"),
]

# For the host's root URLconf when ISSUER has a path: RFC 8414 §3 inserts the well-known path
# between the host and the issuer's path. ``urlpatterns += well_known_urlpatterns``.
well_known_urlpatterns = [
    re_path(
        r"^\.well-known/oauth-authorization-server(?P<issuer_suffix>/.+)$",
        oauth_views.MetadataView.as_view(),
        name="oauth-authorization-server-at-root",
    ),
]
