"""Every ``/v1/…`` path we do not serve: a 404 in the Stytch error envelope, never HTML (the
SDKs parse every error body as that envelope)."""

from __future__ import annotations

from rest_framework.permissions import AllowAny

from trusted_auth.api.envelope import StytchAPIView
from trusted_auth.errors import TrustedAuthError


class UnknownEndpointView(StytchAPIView):
    """Any method on an unknown ``/v1/`` path: ``404 not_found``. No authentication first: a
    client learns nothing here it could not learn from our public documentation."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]

    def _not_found(self, request, *args, **kwargs):
        raise TrustedAuthError(
            f"no endpoint {request.method} {request.path[:200]}",
            error_type="not_found",
            status_code=404,
        )

    get = post = put = patch = delete = head = options = _not_found
