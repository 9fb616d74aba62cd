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

from trusted_auth.api.parsers import BoundedJSONParser
from trusted_auth.errors import ServiceUnavailable, TrustedAuthError
from trusted_auth.internal.dependencies import (
    input_error,
    is_dependency_error,
    service_unavailable,
)
from trusted_auth.internal.http import error_body, new_request_id

logger = logging.getLogger("trusted_auth")

__all__ = ["StytchAPIView", "error_response", "new_request_id"]

_DRF_ERROR_TYPES = {
    exceptions.NotAuthenticated: "unauthorized_credentials",
    exceptions.AuthenticationFailed: "unauthorized_credentials",
    exceptions.PermissionDenied: "unauthorized_credentials",
    exceptions.Throttled: "too_many_requests",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.NotFound: "not_found",
}


def error_response(
    status_code: int,
    error_type: str,
    message: str,
    request_id: str,
    headers: dict[str, str] | None = None,
) -> Response:
    body = error_body(status_code, error_type, message, request_id)
    return Response(body, status=status_code, headers=headers)


class JSONOnlyNegotiation(DefaultContentNegotiation):
    """Every answer is JSON, whatever the request's ``Accept`` says, as Stytch's API answers:
    with one renderer there is nothing to choose (negotiating cost 0.12 ms a request)."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class StytchAPIView(APIView):
    """A DRF view that answers in the Stytch envelope, whatever goes wrong."""

    # Explicit body caps, whatever the host's DEFAULT_PARSER_CLASSES say; JSON out, whatever
    # its DEFAULT_RENDERER_CLASSES say (the SDKs read the envelope, not a browsable page).
    parser_classes = [BoundedJSONParser]
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
        if isinstance(exc, TrustedAuthError):
            retry_after = getattr(exc, "retry_after", None)
            response = error_response(
                exc.status_code,
                exc.error_type,
                exc.message,
                self.request_id(),
                {"Retry-After": str(retry_after)} if retry_after is not None else None,
            )
        elif isinstance(exc, exceptions.APIException):
            error_type = next(
                (name for cls, name in _DRF_ERROR_TYPES.items() if isinstance(exc, cls)),
                "bad_request",
            )
            headers = {}
            wait = getattr(exc, "wait", None)  # Throttled sets it; DRF's stubs do not declare it
            if isinstance(exc, exceptions.Throttled) and wait is not None:
                headers["Retry-After"] = str(int(wait) + 1)
            if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
                exc.status_code = status.HTTP_401_UNAUTHORIZED
                headers["WWW-Authenticate"] = 'Basic realm="trusted_auth"'
            response = error_response(
                exc.status_code, error_type, _message(exc.detail), self.request_id(), headers
            )
        else:
            logger.exception("trusted_auth: unexpected error in %s", type(self).__name__)
            response = error_response(
                500, "internal_server_error", "an unexpected error occurred", self.request_id()
            )
        response.exception = True
        return response


def _message(detail: Any) -> str:
    if isinstance(detail, dict):
        return "; ".join(f"{key}: {_message(value)}" for key, value in detail.items())
    if isinstance(detail, list):
        return " ".join(_message(item) for item in detail)
    return str(detail)
