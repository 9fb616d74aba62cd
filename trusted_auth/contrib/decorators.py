"""``@permission_required("documents", "write")`` for plain Django views: ``HasPermission``'s
RBAC check for a trusted session given as a bearer credential or a browser login. No live
trusted session: 401; one that holds no granting role: 403.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from rest_framework import exceptions

from trusted_auth.browser import SESSION_KEY
from trusted_auth.contrib.rest_framework import BearerSessionAuthentication, session_roles_of
from trusted_auth.errors import SessionNotFound
from trusted_auth.rbac.checks import granting_roles
from trusted_auth.sessions.sessions import find_live_session

DENIED = "the session holds no role that grants this permission"


def _trusted_session(request: HttpRequest) -> Any:
    """The request's ``Session`` or ``VerifiedSession``, or None."""
    try:
        found = BearerSessionAuthentication().authenticate(request)
    except exceptions.AuthenticationFailed:
        return None
    if found is not None:
        return found[1]
    session_id = request.session.get(SESSION_KEY) if hasattr(request, "session") else None
    if session_id is None:
        return None
    try:
        return find_live_session(session_id=session_id)
    except SessionNotFound:
        return None


def permission_required(resource_id: str, action: str) -> Callable:
    """Decorate a view so it runs only for a trusted session allowed ``action`` on
    ``resource_id`` by the RBAC policy."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            found = session_roles_of(_trusted_session(request))
            if found is None:
                return JsonResponse({"detail": "a live trusted session is required"}, status=401)
            if not granting_roles(found[0], resource_id, action, found[1]):
                return JsonResponse({"detail": DENIED}, status=403)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
