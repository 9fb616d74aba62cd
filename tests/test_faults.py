"""Dependency faults (issue 13): a cache or database that is down, stalled or restarted answers
503 ``service_unavailable`` with ``Retry-After`` (never a 500, never an unchecked accept), an
attest refused that way still leaves its audit event when the database is up, and the service
recovers by itself once the dependency is back.

The Redis servers are real (``redis_server``: started, SIGKILLed, SIGSTOPped and restarted by
the test); the database fault is a real lock held on a deployment's SQLite file.
"""

from __future__ import annotations

import sqlite3
import threading

import pytest
from django.test import Client, override_settings

from trusted_auth.models import AuditEvent

from .issuers import default_claims
from .test_attest_rejections import post_attest

UNAVAILABLE = "service_unavailable"


def redis_caches(url: str) -> dict:
    """CACHES as the example project configures Redis: explicit 1 s timeouts."""
    return {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            "OPTIONS": {"socket_connect_timeout": 1.0, "socket_timeout": 1.0},
        }
    }


def assert_unavailable(response) -> None:
    body = response.json()
    assert response.status_code == 503, body
    assert body["error_type"] == UNAVAILABLE and body["status_code"] == 503
    assert body["request_id"].startswith("request-id-")
    assert int(response.headers["Retry-After"]) >= 1


def test_cache_down_is_503_with_an_audit_event(redis_server, api, pem_profile, token_factory):
    with override_settings(CACHES=redis_caches(redis_server.url)):
        assert post_attest(api, pem_profile.profile_id, token_factory()).status_code == 200
        redis_server.kill()

        token = token_factory()
        response = post_attest(api, pem_profile.profile_id, token, session_duration_minutes=60)
        assert_unavailable(response)
        authenticate = api.post(
            "/v1/sessions/authenticate", {"session_token": "x" * 44}, format="json"
        )
        assert_unavailable(authenticate)

    failure = AuditEvent.objects.filter(outcome="failure").get()
    assert failure.error_type == UNAVAILABLE
    assert failure.requested_profile_id == pem_profile.profile_id
    assert failure.action == "attest"
    assert token not in failure.error_message


def test_browser_flow_cache_down_is_503_with_an_audit_event(
    redis_server, pem_profile, token_factory
):
    with override_settings(CACHES=redis_caches(redis_server.url)):
        redis_server.kill()
        response = Client().post(
            "/browser/exchange",
            {"profile_id": pem_profile.profile_id, "token": token_factory()},
            content_type="application/json",
        )
    assert_unavailable(response)
    [event] = AuditEvent.objects.all()
    assert (event.outcome, event.error_type) == ("failure", UNAVAILABLE)
    assert event.requested_profile_id == pem_profile.profile_id


# Transactional: the request runs in a thread of its own, whose database connection commits its
# audit event outside the test's transaction (on PostgreSQL it would outlive the test).
@pytest.mark.django_db(transaction=True)
def test_cache_stalled_answers_503_and_the_request_returns(
    redis_server, api, pem_profile, token_factory
):
    outcome: list = []
    with override_settings(CACHES=redis_caches(redis_server.url)):
        assert post_attest(api, pem_profile.profile_id, token_factory()).status_code == 200
        redis_server.stall()
        try:
            request = threading.Thread(
                target=lambda: outcome.append(post_attest(api, pem_profile.profile_id, "x.y.z"))
            )
            request.start()
            # A liveness guard, not a timing assertion: without timeouts this never returns.
            request.join(timeout=60)
            assert not request.is_alive(), "the request hangs on the stalled cache"
        finally:
            redis_server.resume()
        assert_unavailable(outcome[0])
        # Resumed: the same process serves again.
        assert post_attest(api, pem_profile.profile_id, token_factory()).status_code == 200


def test_cache_restarted_empty_the_service_recovers(redis_server, api, pem_profile, token_factory):
    with override_settings(CACHES=redis_caches(redis_server.url)):
        assert post_attest(api, pem_profile.profile_id, token_factory()).status_code == 200
        redis_server.restart_empty()
        answers = [
            post_attest(api, pem_profile.profile_id, token_factory()).status_code for _ in range(3)
        ]
    assert answers == [200, 200, 200]


@pytest.fixture
def gunicorn_with_redis(redis_server, deployment, signer):
    shared = deployment(cache_url=redis_server.url)
    profile_id = shared.pem_profile(signer.public_pem, "--jit")["profile_id"]
    server = shared.start(workers=1, extra_args=("--timeout", "20"))
    return shared, server, profile_id


def audit_rows(shared) -> list[tuple[str, str]]:
    with sqlite3.connect(shared.directory / "db.sqlite3") as db:
        return db.execute(
            "SELECT outcome, error_type FROM trusted_auth_auditevent ORDER BY id"
        ).fetchall()


def test_a_worker_survives_redis_killed_stalled_and_restarted_empty(
    gunicorn_with_redis, redis_server, signer
):
    shared, server, profile_id = gunicorn_with_redis

    def attest(n: int):
        token = signer.sign(default_claims(email=f"user{n}@example.com"))
        body = {"profile_id": profile_id, "token": token, "session_duration_minutes": 60}
        return shared.post(server, "/v1/sessions/attest", body)

    assert attest(0).status_code == 200
    redis_server.kill()
    assert_unavailable(attest(1))
    redis_server.start()  # restarted empty, same port
    assert attest(2).status_code == 200
    redis_server.stall()
    try:
        stalled = attest(3)  # answered within the Redis timeouts, not killed at --timeout 20
    finally:
        redis_server.resume()
    assert_unavailable(stalled)
    assert attest(4).status_code == 200
    assert "WORKER TIMEOUT" not in server.log()
    assert audit_rows(shared) == [
        ("success", ""),
        ("failure", UNAVAILABLE),
        ("success", ""),
        ("failure", UNAVAILABLE),
        ("success", ""),
    ]


def test_a_locked_database_is_503_not_500(deployment, signer):
    shared = deployment(settings_module="example_project.settings")
    shared.env["SQLITE_BUSY_TIMEOUT_SECONDS"] = "0.2"
    profile_id = shared.pem_profile(signer.public_pem, "--jit")["profile_id"]
    server = shared.start(workers=1)
    body = {
        "profile_id": profile_id,
        "token": signer.sign(default_claims()),
        "session_duration_minutes": 60,
    }
    locker = sqlite3.connect(shared.directory / "db.sqlite3", isolation_level=None)
    try:
        locker.execute("BEGIN EXCLUSIVE")
        response = shared.post(server, "/v1/sessions/attest", body)
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    assert_unavailable(response)
    # Nothing was committed: the same token is accepted once the database is free.
    assert shared.post(server, "/v1/sessions/attest", body).status_code == 200
