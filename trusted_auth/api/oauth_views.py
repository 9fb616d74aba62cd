"""The OAuth face's HTTP endpoints: metadata, token, introspection, revocation.

Thin DRF views over ``trusted_auth.oauth``: form bodies in (RFC 6749 §3.2), JSON out, the server
API's HTTP Basic client authentication, errors the RFC 6749 §5.2 way (not the Stytch envelope).
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import unquote_plus

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http import Http404
from rest_framework import exceptions
from rest_framework.parsers import FormParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from trusted_auth.api.authentication import ProjectSecretAuthentication
from trusted_auth.api.envelope import JSONOnlyNegotiation
from trusted_auth.api.throttling import (
    AttestIPThrottle,
    AttestProfileThrottle,
    AuthenticateIPThrottle,
)
from trusted_auth.error_catalog import ERRORS, error_url
from trusted_auth.errors import TrustedAuthError, Unauthorized
from trusted_auth.internal.dependencies import is_dependency_error, service_unavailable
from trusted_auth.internal.http import request_context
from trusted_auth.oauth import errors
from trusted_auth.oauth.errors import OAuthError
from trusted_auth.oauth.grants import GrantRequest, token_response
from trusted_auth.oauth.introspection import introspect, revoke
from trusted_auth.oauth.metadata import (
    METADATA_MAX_AGE_SECONDS,
    REFRESH_TOKEN,
    authorization_server_metadata,
    issuer_path,
)

logger = logging.getLogger("trusted_auth")

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class OAuthClientAuthentication(ProjectSecretAuthentication):
    """HTTP Basic as RFC 6749 §2.3.1 has clients send it: ``client_id`` and ``client_secret``
    form-urlencoded before base64 (Authlib and openid-client do), then the project secret check.
    Our ids and secrets need no encoding, so both spellings authenticate."""

    def authenticate_credentials(self, userid, password, request=None):
        return super().authenticate_credentials(
            unquote_plus(userid), unquote_plus(password), request
        )


def oauth_error_answer(exc: BaseException) -> tuple[OAuthError, dict[str, str]]:
    """The §5.2 error for any exception a view raised, and its extra headers."""
    headers: dict[str, str] = {}
    if is_dependency_error(exc):
        exc = service_unavailable(exc)
    elif isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        exc = Unauthorized(str(exc.detail))
        headers["WWW-Authenticate"] = 'Basic realm="trusted_auth"'
    elif isinstance(exc, exceptions.Throttled):
        wait = getattr(exc, "wait", None)  # Throttled sets it; DRF's stubs do not declare it
        exc = TrustedAuthError(
            "too many requests",
            error_type="too_many_requests",
            status_code=429,
            retry_after=int(wait or 0) + 1,
        )
    if isinstance(exc, OAuthError):
        error = exc
    elif isinstance(exc, TrustedAuthError):
        error = errors.oauth_error(exc)  # the one table: 401 invalid_client, 429 unavailable, …
        if exc.retry_after is not None:
            headers["Retry-After"] = str(exc.retry_after)
    elif isinstance(exc, exceptions.APIException):
        error = OAuthError(errors.INVALID_REQUEST, str(exc.detail), status_code=exc.status_code)
    elif isinstance(exc, Http404):
        error = OAuthError(errors.INVALID_REQUEST, "not found", status_code=404)
    else:
        logger.error("trusted_auth: unexpected error in the OAuth face", exc_info=exc)
        error = OAuthError(errors.SERVER_ERROR, "an unexpected error occurred", status_code=500)
    return error, headers


class OAuthView(APIView):
    """Form in, JSON out, errors per RFC 6749 §5.2, ``no-store``, HTTP Basic client auth."""

    parser_classes = [FormParser]
    renderer_classes = [JSONRenderer]
    content_negotiation_class = JSONOnlyNegotiation
    authentication_classes = [OAuthClientAuthentication]
    permission_classes = [IsAuthenticated]

    def form(self) -> Any:
        """The form parameters; an unreadable or non-form body is ``invalid_request``."""
        try:
            return self.request.data
        except (RequestDataTooBig, TooManyFieldsSent) as e:
            raise OAuthError(errors.INVALID_REQUEST, "the request body is too large") from e
        except exceptions.UnsupportedMediaType as e:
            raise OAuthError(
                errors.INVALID_REQUEST,
                "send the parameters as application/x-www-form-urlencoded (RFC 6749 §3.2)",
            ) from e

    def form_token(self) -> str:
        """The ``token`` parameter of introspection and revocation, required."""
        token = self.form().get("token")
        if not token:
            raise OAuthError(errors.INVALID_REQUEST, "token is required")
        return token

    def handle_exception(self, exc: Exception) -> Response:
        error, headers = oauth_error_answer(exc)
        body = {"error": error.error, "error_description": error.description}
        if error.error_type in ERRORS:
            body["error_uri"] = error_url(error.error_type)
        response = Response(body, status=error.status_code, headers=headers)
        response.exception = True
        return response

    def finalize_response(self, request, response, *args: Any, **kwargs: Any):
        response = super().finalize_response(request, response, *args, **kwargs)
        for name, value in NO_STORE.items():
            response[name] = value
        return response


class TokenView(OAuthView):
    """``POST /oauth2/token``: token exchange, JWT bearer and refresh (``oauth.grants``)."""

    throttle_classes: list = []  # chosen per grant once the form is read

    def post(self, request):
        params = self.form()
        grant = GrantRequest(params=params, context=request_context(request))
        if grant.get("grant_type") == REFRESH_TOKEN:
            self._limit(AuthenticateIPThrottle())
        else:
            self._limit(AttestIPThrottle())
            self.throttle_profile_id = grant.get("profile_id")
            self._limit(AttestProfileThrottle())
        return Response(token_response(grant))

    def _limit(self, throttle) -> None:
        if not throttle.allow_request(self.request, self):
            self.throttled(self.request, throttle.wait())


class IntrospectView(OAuthView):
    """``POST /oauth2/introspect`` (RFC 7662)."""

    throttle_classes = [AuthenticateIPThrottle]

    def post(self, request):
        return Response(introspect(self.form_token()))


class RevokeView(OAuthView):
    """``POST /oauth2/revoke`` (RFC 7009): 200 whether or not the token named a session."""

    throttle_classes = [AuthenticateIPThrottle]

    def post(self, request):
        revoke(self.form_token())
        return Response({})


class MetadataView(APIView):
    """The metadata document (RFC 8414, OpenID Connect Discovery), public and cacheable.

    ``issuer_suffix`` is the path after ``/.well-known/oauth-authorization-server`` when it is
    served at the host's root (RFC 8414 §3): it must be ``ISSUER``'s path, or this is a 404."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    renderer_classes = [JSONRenderer]
    content_negotiation_class = JSONOnlyNegotiation

    def get(self, request, issuer_suffix: str | None = None):
        if issuer_suffix is not None and issuer_suffix.rstrip("/") != issuer_path():
            raise Http404
        response = Response(authorization_server_metadata())
        response["Cache-Control"] = f"public, max-age={METADATA_MAX_AGE_SECONDS}"
        return response

    def handle_exception(self, exc: Exception) -> Response:
        error, headers = oauth_error_answer(exc)
        body = {"error": error.error, "error_description": error.description}
        return Response(body, status=error.status_code, headers=headers)
