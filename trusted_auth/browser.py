"""The browser flow: a same-origin page POSTs an external token and is logged in to Django.

``browser/exchange`` is CSRF-protected, refuses cross-site requests, attests the token and calls
``login()``; ``browser/logout`` revokes that session and logs out.
"""

from __future__ import annotations

from django.contrib.auth import login, logout
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_POST
from rest_framework.exceptions import Throttled

from trusted_auth.api.envelope import error_answer
from trusted_auth.api.throttling import browser_throttle_wait
from trusted_auth.attest import AttestRequest, attest, record_malformed_attest
from trusted_auth.backends import BACKEND
from trusted_auth.conf import trusted_auth_settings
from trusted_auth.errors import BadRequest, TrustedAuthError
from trusted_auth.internal.dependencies import is_dependency_error, service_unavailable
from trusted_auth.internal.http import new_request_id, request_context
from trusted_auth.internal.json_limits import MAX_BODY_BYTES, bounded_loads
from trusted_auth.sessions.lifecycle import revoke_sessions

SESSION_KEY = "trusted_auth_session_id"


def _error(exc: BaseException) -> JsonResponse:
    """Any failure, answered by the API's one mapper (``api.envelope.error_answer``)."""
    status, body, headers = error_answer(exc, new_request_id())
    return JsonResponse(body, status=status, headers=headers)


def _arguments(request: HttpRequest) -> dict:
    try:
        if request.content_type != "application/json":
            return request.POST.dict()
        data = bounded_loads(request.body or b"{}", max_bytes=MAX_BODY_BYTES)
    except RequestDataTooBig as e:
        raise BadRequest("the request body is too large") from e
    except (ValueError, RecursionError) as e:
        raise BadRequest("the request body is not JSON") from e
    if not isinstance(data, dict):
        raise BadRequest("the request body must be a JSON object")
    return data


@never_cache
@require_POST
@csrf_protect
def exchange_token(request: HttpRequest) -> JsonResponse:
    """Attest an external token and log its user in to this Django site."""
    if request.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
        return _error(
            TrustedAuthError(
                "the browser flow accepts same-origin requests only",
                error_type="cross_site_request",
                status_code=403,
            )
        )
    data: dict = {}
    attest_started = False
    try:
        data = _arguments(request)
        wait = browser_throttle_wait(request, data.get("profile_id"))
        if wait is not None:
            raise Throttled(wait)
        attest_started = True
        result = attest(
            AttestRequest(
                profile_id=data.get("profile_id"),
                token=data.get("token"),
                session_duration_minutes=trusted_auth_settings.BROWSER_SESSION_MINUTES,
                context=request_context(request),
            )
        )
    except Exception as e:  # the API's views answer every failure in the envelope too
        if not is_dependency_error(e):
            return _error(e)
        # The database or cache failed: 503, and an audit event (best effort) when the attest
        # service had not started, since it audits everything once it runs.
        error = service_unavailable(e)
        if not attest_started:  # a failure to write it is logged, never raised
            record_malformed_attest(data.get("profile_id"), request_context(request), error)
        return _error(error)
    assert result.session is not None  # the browser flow always starts a session
    login(request, result.identity.django_user, backend=BACKEND)
    request.session[SESSION_KEY] = result.session.session_id
    # The Django session ends with the trusted session (BROWSER_SESSION_MINUTES from now), not
    # after SESSION_COOKIE_AGE; BrowserSessionMiddleware ends it sooner if that one dies first.
    request.session.set_expiry(result.session.expires_at)
    return JsonResponse(
        {
            "status_code": 200,
            "request_id": new_request_id(),
            "user_id": result.identity.user_id,
            "session_id": result.session.session_id,
        }
    )


@never_cache
@require_POST
@csrf_protect
def logout_view(request: HttpRequest) -> JsonResponse:
    """Revoke the trusted_auth session behind this browser login and log out of Django."""
    session_id = request.session.get(SESSION_KEY)
    if session_id:
        try:
            revoke_sessions(session_id=session_id)
        except TrustedAuthError:
            pass  # already revoked or expired: logging out is still right
    logout(request)
    return JsonResponse({"status_code": 200, "request_id": new_request_id()})
