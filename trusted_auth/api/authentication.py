"""HTTP Basic ``project_id:secret`` authentication for the server API."""

from __future__ import annotations

from rest_framework import authentication, exceptions

from trusted_auth.api.throttling import BasicAuthFailureThrottle
from trusted_auth.errors import Unauthorized
from trusted_auth.internal.http import request_context
from trusted_auth.sessions.secrets import authenticate_secret, record_rejected_credentials

MISSING_CREDENTIALS = (
    "no HTTP Basic credentials: send your project id and an API secret as "
    "Authorization: Basic base64(project_id:secret) (curl -u 'project_id:secret'; the SDKs "
    "take project_id and secret); `manage.py trusted_auth secret create` makes a secret"
)


class ProjectClient:
    """The principal of a request authenticated with a project secret (not a Django user)."""

    is_authenticated = True
    is_anonymous = False

    def __init__(self, secret_id: str) -> None:
        self.secret_id = secret_id

    def __str__(self) -> str:
        return f"project client ({self.secret_id})"


class ProjectSecretAuthentication(authentication.BasicAuthentication):
    """HTTP Basic with a project secret. Failures are audited (``unauthorized_credentials``) and
    counted per client IP; past ``basic_auth_failure_ip`` they are answered 429 unaudited, so a
    credential scan fills neither the CPU nor the audit table."""

    www_authenticate_realm = "trusted_auth"

    def authenticate(self, request):
        try:
            credentials = super().authenticate(request)
        except exceptions.AuthenticationFailed as error:
            self._failed(request, error)
            raise
        if credentials is None:  # no Authorization header, or not Basic: say what to send
            raise exceptions.NotAuthenticated(MISSING_CREDENTIALS)
        return credentials

    def authenticate_credentials(self, userid, password, request=None):
        try:
            secret = authenticate_secret(userid, password)
        except Unauthorized as e:
            raise exceptions.AuthenticationFailed(e.message) from e
        return ProjectClient(secret.secret_id), secret

    def _failed(self, request, error: exceptions.AuthenticationFailed) -> None:
        throttle = BasicAuthFailureThrottle()
        if not throttle.allow_request(request, None):
            raise exceptions.Throttled(throttle.wait()) from error
        record_rejected_credentials(request_context(request), str(error.detail))
