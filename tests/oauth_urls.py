"""A host that mounts trusted_auth under ``/auth`` (``ISSUER = https://host/auth``)."""

from django.urls import include, path

from trusted_auth.urls import well_known_urlpatterns

urlpatterns = [path("auth/", include("trusted_auth.urls")), *well_known_urlpatterns]
