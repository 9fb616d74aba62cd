"""The admin's Overview page (issue 16): attests per hour by outcome, top failure reasons per
profile, live sessions, signing keys with their states and each JWKS profile's health, in a
bounded number of queries."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from trusted_auth.attest import AttestRequest, attest
from trusted_auth.audit.overview import HOURS, build_overview
from trusted_auth.errors import TrustedAuthError
from trusted_auth.models import AuditEvent, Session, SigningKey

from .issuers import SigningPair, default_claims

OVERVIEW = "/admin/trusted_auth/overview/"


def _attest(profile, token, minutes=60):
    try:
        return attest(
            AttestRequest(
                profile_id=profile.profile_id, token=token, session_duration_minutes=minutes
            )
        )
    except TrustedAuthError:
        return None


@pytest.fixture
def activity(pem_profile, token_factory, profile_factory, issuer, settings):
    """Three good attests, two expired tokens and one with a wrong audience on the PEM
    profile; one JWKS profile fetched fine and one whose JWKS host is down."""
    now = int(time.time())
    for i in range(3):
        _attest(pem_profile, token_factory(email=f"user{i}@example.com"))
    for _ in range(2):
        _attest(pem_profile, token_factory(iat=now - 4000, exp=now - 3600))
    _attest(pem_profile, token_factory(aud="someone-else"))
    healthy = profile_factory(name="Healthy IdP", jwks_url=issuer.url, can_jit_provision=True)
    _attest(healthy, issuer.signer.sign(default_claims(email="jwks@example.com")))
    broken = profile_factory(name="Broken IdP", jwks_url="https://127.0.0.1:9/jwks.json")
    _attest(broken, SigningPair.rsa().sign(default_claims()))
    return {"pem": pem_profile, "healthy": healthy, "broken": broken}


def test_the_admin_index_links_to_the_overview(admin_client):
    index = admin_client.get(reverse("admin:index")).content.decode()
    assert f'href="{OVERVIEW}"' in index
    assert reverse("admin:trusted_auth_overview_changelist") == OVERVIEW


def test_the_overview_shows_the_last_24_hours(admin_client, activity):
    response = admin_client.get(OVERVIEW)
    assert response.status_code == 200
    data = response.context["data"]

    assert (data.attests, data.failed_attests) == (8, 4)
    assert data.hours[-1].success == 4 and data.hours[-1].failure == 4  # all this hour
    assert len(data.hours) == HOURS
    assert (
        data.live_now
        == 4
        == Session.objects.filter(revoked_at__isnull=True, expires_at__gt=timezone.now()).count()
    )
    reasons = {(f.profile_name, f.error_type): f.count for f in data.failures}
    assert reasons == {
        ("Test issuer", "jwt_invalid_claims"): 2,
        ("Test issuer", "jwt_invalid_audience"): 1,
        ("Broken IdP", "jwks_unavailable"): 1,
    }
    assert data.failures[0].error_type == "jwt_invalid_claims"  # most frequent first
    assert [k.state for k in data.signing_keys] == ["current"]

    health = {p.name: p for p in data.jwks_profiles}
    assert set(health) == {"Healthy IdP", "Broken IdP"}
    assert health["Healthy IdP"].status == "fresh" and health["Healthy IdP"].keys == 1
    assert health["Healthy IdP"].fetched_at is not None and health["Healthy IdP"].last_error == ""
    assert health["Broken IdP"].status == "failing" and health["Broken IdP"].fetched_at is None
    assert "JWKS fetch failed" in health["Broken IdP"].last_error

    page = response.content.decode()
    assert "<svg" in page and "<script" not in page.split('id="content-main"')[1]
    for text in (
        "Attests per hour",
        "Live sessions",
        "jwt_invalid_claims",
        "Broken IdP",
        "JWKS fetch failed",
        data.signing_keys[0].kid,
        'class="ta-state ta-state-current"',
    ):
        assert text in page, text


def test_hours_and_live_sessions_are_bucketed_in_utc(db, pem_profile, token_factory):
    now = dt.datetime(2026, 12, 1, 10, 30, tzinfo=dt.UTC)
    events = AuditEvent.objects.bulk_create(
        [AuditEvent(outcome="success") for _ in range(3)]
        + [AuditEvent(outcome="failure", error_type="jwt_invalid_issuer") for _ in range(2)]
    )
    moments = [now - dt.timedelta(minutes=5), now - dt.timedelta(hours=2, minutes=10)]
    # auto_now_add cannot be set at creation: move the rows in time afterwards.
    AuditEvent.objects.filter(pk__in=[e.pk for e in events[:2]]).update(created_at=moments[0])
    AuditEvent.objects.filter(pk__in=[e.pk for e in events[2:4]]).update(created_at=moments[1])
    AuditEvent.objects.filter(pk=events[4].pk).update(created_at=now - dt.timedelta(hours=30))
    user = get_user_model().objects.create_user("ada")
    Session.objects.create(  # live from 07:00 to 12:00 UTC
        token_digest="a" * 64,
        user=user,
        started_at=now.replace(hour=7, minute=0),
        expires_at=now.replace(hour=12, minute=0),
    )
    Session.objects.filter(token_digest="a" * 64).update(started_at=now.replace(hour=7, minute=0))

    data = build_overview(now=now)

    assert [h.start.hour for h in data.hours][-3:] == [8, 9, 10]
    assert (data.hours[-1].success, data.hours[-1].failure) == (2, 0)
    assert (data.hours[-3].success, data.hours[-3].failure) == (1, 1)  # 08:20
    assert data.attests == 4  # the 30-hour-old event is outside the window
    live = {p.at.strftime("%H:%M"): p.count for p in data.live_sessions}
    assert (live["06:00"], live["07:00"], live["08:00"], live["10:00"], live["10:30"]) == (
        0,
        1,
        1,
        1,
        1,
    )
    assert list(live)[-1] == "10:30" and len(live) == HOURS


def test_the_overview_makes_a_bounded_number_of_queries(
    admin_client, activity, profile_factory, issuer
):
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert admin_client.get(OVERVIEW).status_code == 200
        return len(queries)

    few = count()
    # Ten times the events and sessions, more JWKS profiles and keys: the same queries.
    user = get_user_model().objects.create_user("bulk")
    now = timezone.now()
    AuditEvent.objects.bulk_create(
        [
            AuditEvent(outcome="failure" if i % 2 else "success", error_type=f"e{i % 7}")
            for i in range(2000)
        ]
    )
    Session.objects.bulk_create(
        [
            Session(token_digest=f"{i:064x}", user=user, expires_at=now + dt.timedelta(hours=1))
            for i in range(2000)
        ]
    )
    for i in range(5):
        profile_factory(name=f"IdP {i}", jwks_url=issuer.url)
    SigningKey.objects.create(kid="extra", state="retired", key_size=2048, public_jwk={})
    assert count() == few
    assert few <= 10  # session + user, five overview queries, the admin's own


def test_the_overview_needs_the_audit_view_permission(client, db):
    staff = get_user_model().objects.create_user("staff", password="pw", is_staff=True)
    client.force_login(staff)
    assert client.get(OVERVIEW).status_code == 403
    index = client.get(reverse("admin:index")).content.decode()
    assert OVERVIEW not in index
