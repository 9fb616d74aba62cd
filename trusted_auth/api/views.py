"""Thin DRF views: parse, call one service, shape the answer."""

from __future__ import annotations

import hmac
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponse
from rest_framework import serializers
from rest_framework.exceptions import ParseError
from rest_framework.permissions import AllowAny, IsAuthenticated

from trusted_auth.api.authentication import ProjectSecretAuthentication
from trusted_auth.api.envelope import StytchAPIView
from trusted_auth.api.serializers import AttestRequestSerializer
from trusted_auth.api.shapes import session_shape, user_shape
from trusted_auth.api.throttling import AttestIPThrottle, AttestProfileThrottle
from trusted_auth.attest import AttestRequest, attest, record_malformed_attest
from trusted_auth.audit.metrics import exposition
from trusted_auth.conf import trusted_auth_settings
from trusted_auth.errors import BadRequest, ServiceUnavailable, TrustedAuthError, Unauthorized
from trusted_auth.internal.http import request_context
from trusted_auth.sessions.signing_keys import current_signing_key, published_keys

JWKS_MAX_AGE_SECONDS = 300

# What reading a hostile body can raise besides ParseError: a body over Django's
# DATA_UPLOAD_MAX_MEMORY_SIZE, or JSON nested deeper than the parser's recursion limit.
_UNREADABLE_BODY = (ParseError, RequestDataTooBig, RecursionError)


def jwks_max_age() -> int:
    """How long a client may cache our JWKS: at most half the publish window of a ``next`` key,
    so any cached copy is refreshed (and holds the new key) before that key starts signing."""
    return max(0, min(JWKS_MAX_AGE_SECONDS, int(trusted_auth_settings.KEY_PUBLISH_SECONDS) // 2))


def attest_arguments(data: dict) -> dict:
    """The attest fields of parsed request data (``telemetry_id`` is accepted and ignored)."""
    return {
        name: data.get(name)
        for name in (
            "profile_id",
            "token",
            "session_duration_minutes",
            "session_custom_claims",
            "session_token",
            "session_jwt",
        )
    }


class ServerAPIView(StytchAPIView):
    authentication_classes = [ProjectSecretAuthentication]
    permission_classes = [IsAuthenticated]

    def parse(self, serializer_class: type[serializers.Serializer]) -> dict[str, Any]:
        """The request body checked by ``serializer_class``; a body that is not a JSON object, or
        a field that fails, is a ``BadRequest`` naming each field and its messages."""
        try:
            body = self.request.data
        except ParseError as e:
            raise BadRequest(f"the request body is not valid JSON: {e.detail}") from e
        except RequestDataTooBig as e:
            raise BadRequest("the request body is too large") from e
        except RecursionError as e:
            raise BadRequest("the request body is not valid JSON: nested too deeply") from e
        if not isinstance(body, dict):
            raise BadRequest("the request body must be a JSON object")
        serializer = serializer_class(data=body)
        if not serializer.is_valid():
            raise BadRequest(
                "; ".join(
                    f"{field}: {' '.join(map(str, messages))}"
                    for field, messages in serializer.errors.items()
                )
            )
        return dict(serializer.validated_data)


class AttestAPIView(ServerAPIView):
    """An attest endpoint: limited per client IP before the body is read, and per requested
    profile once it is parsed (``parse_attest``)."""

    throttle_classes = [AttestIPThrottle]
    audit_action = "attest"
    # True once the attest service runs: from then on it writes the audit event itself.
    attest_audited_by_service = False

    def dependency_failed(self, error: ServiceUnavailable) -> None:
        """The database or cache failed before the attest service ran (in a throttle, say):
        the attest is still audited, best effort, since the database may be the part down."""
        if self.attest_audited_by_service:
            return
        profile_id = getattr(self, "throttle_profile_id", None)
        if profile_id is None:
            # Any failure reading it (the dependency that is down, say) names no profile.
            profile_id = self.requested_profile_id(unreadable=(Exception,))
        # Best effort: a failure to write it is logged there, never raised.
        record_malformed_attest(
            profile_id, request_context(self.request), error, action=self.audit_action
        )

    def requested_profile_id(
        self, unreadable: tuple[type[BaseException], ...] = _UNREADABLE_BODY
    ) -> object:
        """The body's ``profile_id`` as the client sent it (for the audit event of an attest
        refused before it ran), or None when the body is unreadable or names none."""
        try:
            body = self.request.data
        except unreadable:
            return None
        return body.get("profile_id") if isinstance(body, dict) else None

    def parse_attest(self, serializer_class, context, *, action: str):
        """``parse`` for attest endpoints: a malformed attest is still an audited failure.
        A well-formed one is then held to the per-profile rate limit."""
        try:
            data = self.parse(serializer_class)
        except BadRequest as error:
            record_malformed_attest(self.requested_profile_id(), context, error, action=action)
            raise
        self.throttle_profile_id = data["profile_id"]
        throttle = AttestProfileThrottle()
        if not throttle.allow_request(self.request, self):
            self.throttled(self.request, throttle.wait())
        self.attest_audited_by_service = True
        return data


class AttestView(AttestAPIView):
    """``POST /v1/sessions/attest``."""

    def post(self, request):
        context = request_context(request)
        data = self.parse_attest(AttestRequestSerializer, context, action="attest")
        result = attest(AttestRequest(**attest_arguments(data), context=context))
        identity = result.identity
        return self.ok(
            {
                "user_id": identity.user_id,
                "user": user_shape(identity),
                "session": session_shape(result.session, identity.user_id)
                if result.session
                else None,
                "session_token": result.session_token,
                "session_jwt": result.session_jwt,
                "user_device": None,
            }
        )


class JwksView(StytchAPIView):
    """``GET /v1/sessions/jwks/<project_id>``: public keys of our session JWTs. No auth."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    def get(self, request, project_id: str):
        if project_id != trusted_auth_settings.PROJECT_ID:
            raise TrustedAuthError(
                "unknown project_id", error_type="project_not_found", status_code=404
            )
        current_signing_key()  # a fresh deployment publishes its first key before it signs
        response = self.ok({"keys": published_keys()})
        response["Cache-Control"] = f"public, max-age={jwks_max_age()}"
        return response


class MetricsView(StytchAPIView):
    """``GET /metrics`` in Prometheus text format, when ``METRICS_ENABLED``. Open to whoever
    reaches it unless ``METRICS_BEARER_TOKEN`` is set: mount it on an internal network."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    def get(self, request):
        if not trusted_auth_settings.METRICS_ENABLED:
            raise TrustedAuthError("not found", error_type="not_found", status_code=404)
        expected = trusted_auth_settings.METRICS_BEARER_TOKEN
        if expected:
            given = request.META.get("HTTP_AUTHORIZATION", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {expected}".encode()):
                raise Unauthorized("metrics need Authorization: Bearer <METRICS_BEARER_TOKEN>")
        return HttpResponse(exposition(), content_type="text/plain; version=0.0.4; charset=utf-8")
