"""``BrowserSessionMiddleware``: a browser login lives exactly as long as its trusted session.
Add it after ``SessionMiddleware`` (check ``trusted_auth.W008``)."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse

from trusted_auth.browser import SESSION_KEY
from trusted_auth.errors import SessionNotFound
from trusted_auth.sessions.lifecycle import record_use
from trusted_auth.sessions.sessions import find_live_session


class BrowserSessionMiddleware:
    """Logs a browser out on its first request after the trusted session behind its login stops
    being live (revoked, expired, idle, its user out); other requests record a use of it.

    Here, not in the backend: ``get_user(user_id)`` never sees the request, so it cannot know
    which trusted session the browser holds. With the database down the check raises: the page
    fails rather than serve a login it could not check.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not hasattr(request, "session"):
            raise ImproperlyConfigured(
                "trusted_auth.middleware.BrowserSessionMiddleware needs "
                "django.contrib.sessions.middleware.SessionMiddleware before it in MIDDLEWARE."
            )
        if settings.SESSION_COOKIE_NAME in request.COOKIES:
            session_id = request.session.get(SESSION_KEY)
            if session_id is not None:
                try:
                    record_use(find_live_session(session_id=session_id))
                except SessionNotFound:
                    logout(request)
        return self.get_response(request)
