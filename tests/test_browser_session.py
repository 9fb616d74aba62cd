"""The browser flow's Django login lives exactly as long as its trusted session.

Through the real flow with Django's test client: ``/example/signin`` (CSRF cookie),
``POST /browser/exchange``, then an ordinary ``@login_required`` view (``/example/me``). Once the
trusted session is revoked, expires or idles out, the next request is anonymous; the Django
session cookie never outlives ``BROWSER_SESSION_MINUTES``.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.core.checks import Warning
from django.test import Client
from django.utils import timezone

from trusted_auth.checks import check_settings
from trusted_auth.models import Session

ME = "/example/me"
MIDDLEWARE = "trusted_auth.middleware.BrowserSessionMiddleware"


def signed_in(profile, token_factory) -> tuple[Client, Session]:
    """A browser logged in through ``browser/exchange``, and its trusted session."""
    client = Client(enforce_csrf_checks=True)
    assert client.get("/example/signin").status_code == 200
    response = client.post(
        "/browser/exchange",
        {"profile_id": profile.profile_id, "token": token_factory(email="grace@example.com")},
        HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value,
    )
    assert response.status_code == 200, response.content
    assert client.get(ME).status_code == 200
    return client, Session.objects.get(session_id=response.json()["session_id"])


def assert_logged_out(client: Client) -> None:
    response = client.get(ME)
    assert response.status_code == 302, response.content
    assert response["Location"].startswith("/example/signin")


def test_revoking_the_trusted_session_logs_the_browser_out(api, pem_profile, token_factory):
    client, session = signed_in(pem_profile, token_factory)

    response = api.post("/v1/sessions/revoke", {"session_id": session.session_id}, format="json")
    assert response.status_code == 200

    assert_logged_out(client)
    # The Django session itself was ended, not just this request refused.
    assert client.session.get("_auth_user_id") is None


def test_an_expired_trusted_session_logs_the_browser_out(pem_profile, token_factory):
    client, session = signed_in(pem_profile, token_factory)

    Session.objects.filter(pk=session.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    assert_logged_out(client)


def test_an_idle_trusted_session_logs_the_browser_out(pem_profile, token_factory, settings):
    settings.TRUSTED_AUTH = {**settings.TRUSTED_AUTH, "SESSION_IDLE_TIMEOUT_SECONDS": 60}
    client, session = signed_in(pem_profile, token_factory)

    Session.objects.filter(pk=session.pk).update(
        last_accessed_at=timezone.now() - timedelta(minutes=2)
    )

    assert_logged_out(client)


def test_a_browser_in_use_keeps_its_trusted_session_alive(pem_profile, token_factory, settings):
    """Each page a logged-in browser loads is a use of its trusted session (recorded at most
    once per touch interval), so an active browser does not idle out."""
    settings.TRUSTED_AUTH = {**settings.TRUSTED_AUTH, "SESSION_IDLE_TIMEOUT_SECONDS": 60}
    client, session = signed_in(pem_profile, token_factory)
    Session.objects.filter(pk=session.pk).update(
        last_accessed_at=timezone.now() - timedelta(seconds=50)
    )

    assert client.get(ME).status_code == 200

    session.refresh_from_db()
    assert timezone.now() - session.last_accessed_at < timedelta(seconds=5)
    assert session.revoked_at is None


@pytest.mark.parametrize("minutes", [10, 60 * 24])
def test_the_session_cookie_never_outlives_browser_session_minutes(
    pem_profile, token_factory, settings, minutes
):
    settings.TRUSTED_AUTH = {**settings.TRUSTED_AUTH, "BROWSER_SESSION_MINUTES": minutes}
    assert django_settings.SESSION_COOKIE_AGE > minutes * 60  # Django's default: 14 days

    client, session = signed_in(pem_profile, token_factory)

    cookie = client.cookies[django_settings.SESSION_COOKIE_NAME]
    assert minutes * 60 - 5 <= int(cookie["max-age"]) <= minutes * 60
    assert client.session.get_expiry_date() <= session.expires_at
    assert (session.expires_at - session.started_at) == timedelta(minutes=minutes)


def test_logging_out_ends_the_browser_login_and_the_trusted_session(pem_profile, token_factory):
    client, session = signed_in(pem_profile, token_factory)

    response = client.post("/browser/logout", HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value)

    assert response.status_code == 200
    session.refresh_from_db()
    assert session.revoked_at is not None
    assert_logged_out(client)


# --- the system check ---------------------------------------------------------------------------


def w008():
    return Warning(
        f"{MIDDLEWARE} is not in MIDDLEWARE.",
        hint="The browser flow's Django login then outlives its trusted session: a revoked, "
        "expired or idle session stays logged in until the cookie expires. Add it after "
        "django.contrib.sessions.middleware.SessionMiddleware.",
        id="trusted_auth.W008",
    )


def ids(messages) -> list[str]:
    return [message.id for message in messages]


def test_the_check_warns_when_the_browser_flow_lacks_the_middleware(settings):
    assert MIDDLEWARE in settings.MIDDLEWARE and "trusted_auth.W008" not in ids(check_settings())

    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if m != MIDDLEWARE]
    assert [m for m in check_settings() if m.id == "trusted_auth.W008"] == [w008()]

    # Without the backend the browser flow logs nobody in (W010 says so): nothing to end.
    settings.AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
    assert "trusted_auth.W008" not in ids(check_settings())
