"""HTTP Basic ``project_id:secret`` authentication for the server API."""

from __future__ import annotations

from rest_framework import authentication, exceptions

from trusted_auth.errors import Unauthorized
from trusted_auth.services.secrets import authenticate_secret


class ProjectClient:
    """The principal of a request authenticated with a project secret (not a Django user)."""

    is_authenticated = True
    is_anonymous = False

    def __init__(self, secret_id: str) -> None:
        self.secret_id = secret_id

    def __str__(self) -> str:
        return f"project client ({self.secret_id})"


class ProjectSecretAuthentication(authentication.BasicAuthentication):
    www_authenticate_realm = "trusted_auth"

    def authenticate_credentials(self, userid, password, request=None):
        try:
            secret = authenticate_secret(userid, password)
        except Unauthorized as e:
            raise exceptions.AuthenticationFailed(e.message) from e
        return ProjectClient(secret.secret_id), secret
