"""Mount with ``path("", include("trusted_auth.urls"))``: the SDK expects the paths at the root."""

from django.urls import path

from trusted_auth import browser
from trusted_auth.api import b2b_views, session_views, views

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
    path("browser/exchange", browser.exchange_token, name="browser-exchange"),
    path("browser/logout", browser.logout_view, name="browser-logout"),
    path("metrics", views.MetricsView.as_view(), name="metrics"),
]
