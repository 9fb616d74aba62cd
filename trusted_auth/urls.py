"""Mount with ``path("", include("trusted_auth.urls"))``: the SDK expects the paths at the root."""

from django.urls import path

from trusted_auth.api import views

app_name = "trusted_auth"

urlpatterns = [
    path("v1/sessions/attest", views.AttestView.as_view(), name="attest"),
    path("v1/sessions/jwks/<str:project_id>", views.JwksView.as_view(), name="jwks"),
]
