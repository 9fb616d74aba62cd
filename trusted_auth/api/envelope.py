"""The Stytch wire envelope: ``status_code`` and ``request_id`` on every body.

Errors are mapped to it once, here."""

from __future__ import annotations

import logging
from typing import Any

from rest_framework import exceptions, status
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from trusted_auth.api.parsers import BoundedJSONParser, JSONRequired
from trusted_auth.errors import ServiceUnavailable, TrustedAuthError
from trusted_auth.internal.dependencies import (
    input_error,
    is_dependency_error,
    service_unavailable,
)
from trusted_auth.internal.http import error_body, new_request_id

logger = logging.getLogger("trusted_auth")

_DRF_ERROR_TYPES = {
    exceptions.NotAuthenticated: "unauthorized_credentials",
    exceptions.AuthenticationFailed: "unauthorized_credentials",
    exceptions.PermissionDenied: "unauthorized_credentials",
    exceptions.Throttled: "too_many_requests",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.NotFound: "not_found",
}


class JSONOnlyNegotiation(DefaultContentNegotiation):
    """Every answer is JSON, whatever the request's ``Accept`` says, as Stytch's API answers."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class StytchAPIView(APIView):
    """A DRF view that answers in the Stytch envelope, whatever goes wrong."""

    # Explicit body caps, whatever the host's DEFAULT_PARSER_CLASSES say; JSON out, whatever
    # its DEFAULT_RENDERER_CLASSES say (the SDKs read the envelope, not a browsable page).
    parser_classes = [BoundedJSONParser, JSONRequired]
    renderer_classes = [JSONRenderer]
    content_negotiation_class = JSONOnlyNegotiation

    def initial(self, request, *args: Any, **kwargs: Any) -> None:
        request.request_id = new_request_id()
        super().initial(request, *args, **kwargs)

    def request_id(self) -> str:
        return getattr(self.request, "request_id", None) or new_request_id()

    def ok(self, body: dict[str, Any], status_code: int = 200, **kwargs: Any) -> Response:
        return Response(
            {"status_code": status_code, "request_id": self.request_id(), **body},
            status=status_code,
            **kwargs,
        )

    def finalize_response(self, request, response, *args: Any, **kwargs: Any):
        """``Cache-Control: no-store`` on every answer and error unless the view set its own
        (the public JWKS): bodies carry session tokens and JWTs no cache may keep."""
        response = super().finalize_response(request, response, *args, **kwargs)
        if not response.has_header("Cache-Control"):
            response["Cache-Control"] = "no-store"
        return response

    def dependency_failed(self, error: ServiceUnavailable) -> None:
        """Called when the database or cache failed during this request (the 503 follows).
        Attest views override it to leave an audit event when the attest never started."""

    def handle_exception(self, exc: Exception) -> Response:
        client_error = input_error(exc)  # the database refused the request's own values
        if client_error is not None:
            exc = client_error
        elif is_dependency_error(exc):
            exc = service_unavailable(exc)
            self.dependency_failed(exc)
        status_code, body, headers = error_answer(exc, self.request_id())
        response = Response(body, status=status_code, headers=headers)
        response.exception = True
        return response


def error_answer(exc: BaseException, request_id: str) -> tuple[int, dict[str, Any], dict[str, str]]:
    """The one mapping of an exception to the Stytch error envelope, for the API views and the
    browser flow: ``(status, body, headers)``. A domain error keeps its type and status, a DRF
    exception maps by ``_DRF_ERROR_TYPES``, a failed database or cache is 503, anything else is
    logged with the request id and answered 500 without its details."""
    if is_dependency_error(exc):
        exc = service_unavailable(exc)
    headers: dict[str, str] = {}
    if isinstance(exc, TrustedAuthError):
        status_code, error_type, message = exc.status_code, exc.error_type, exc.message
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:
            headers["Retry-After"] = str(retry_after)
    elif isinstance(exc, exceptions.APIException):
        status_code, message = exc.status_code, _message(exc.detail)
        error_type = next(
            (name for cls, name in _DRF_ERROR_TYPES.items() if isinstance(exc, cls)),
            "bad_request",
        )
        wait = getattr(exc, "wait", None)  # Throttled sets it; DRF's stubs do not declare it
        if isinstance(exc, exceptions.Throttled) and wait is not None:
            headers["Retry-After"] = str(int(wait) + 1)
        if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
            status_code = status.HTTP_401_UNAUTHORIZED
            headers["WWW-Authenticate"] = 'Basic realm="trusted_auth"'
    else:
        logger.error("trusted_auth: unexpected error (%s)", request_id, exc_info=exc)
        status_code, message = 500, "an unexpected error occurred"
        error_type = "internal_server_error"
    return status_code, error_body(status_code, error_type, message, request_id), headers


def _message(detail: Any) -> str:
    if isinstance(detail, dict):
        return "; ".join(f"{key}: {_message(value)}" for key, value in detail.items())
    if isinstance(detail, list):
        return " ".join(_message(item) for item in detail)
    return str(detail)
