"""Several workers against one PostgreSQL and one Redis (docs/operations.md "Running at scale").

These tests need the real shared components: they run in the second CI pass
(``DATABASE_URL=postgres://…``, ``CACHE_URL=redis://…``, ``TESTS_REQUIRE_POSTGRES=1``) and are
skipped on SQLite and the local-memory cache, where they could prove nothing. With
``TESTS_REQUIRE_POSTGRES=1`` a missing PostgreSQL or Redis fails them instead of skipping.
"""

from __future__ import annotations

import base64
import os
import threading
from typing import Any
from urllib.parse import quote

import pytest
import requests
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.db import connection, connections
from rest_framework.test import APIClient

from trusted_auth.identities.organizations import create_organization
from trusted_auth.models import AuditEvent, Member, Session, UserIdentity
from trusted_auth.sessions.secrets import create_secret

from .gunicorn_server import GunicornServer
from .issuers import default_claims
from .test_attest_rejections import post_attest
from .test_b2b import B2B_MAPPING, post_b2b

PARALLEL_ATTESTS = 50


@pytest.fixture
def postgres_and_redis(transactional_db):
    """Skip (or fail, in the PostgreSQL pass) unless the database is PostgreSQL and the cache
    Redis: what several worker processes on several hosts share."""
    backend = django_settings.CACHES["default"]["BACKEND"]
    missing = [
        what
        for what, ok in (
            ("PostgreSQL", connection.vendor == "postgresql"),
            ("Redis", backend.endswith("redis.RedisCache")),
        )
        if not ok
    ]
    if missing:
        reason = f"needs {' and '.join(missing)} (DATABASE_URL / CACHE_URL)"
        if os.environ.get("TESTS_REQUIRE_POSTGRES"):
            pytest.fail(reason + ", and TESTS_REQUIRE_POSTGRES is set")
        pytest.skip(reason)


def basic_auth(secret: str) -> tuple[str, str]:
    return django_settings.TRUSTED_AUTH["PROJECT_ID"], secret


def database_url() -> str:
    """The test database (``test_<name>``, made by pytest-django) as a URL for a child process."""
    db = connection.settings_dict
    return (
        f"postgres://{quote(db['USER'], safe='')}:{quote(db['PASSWORD'], safe='')}"
        f"@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    )


@pytest.fixture
def gunicorn_pair(postgres_and_redis, ca_bundle, tmp_path):
    """Two Gunicorn servers (two processes, two ports) on the test database and the same Redis,
    with the test settings, so secrets and profiles made here are theirs too."""
    env = {
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": database_url(),
        "CACHE_URL": django_settings.CACHES["default"]["LOCATION"],
        "TRUSTED_AUTH_JWKS_CA_BUNDLE": ca_bundle,
    }
    servers = [GunicornServer(env, tmp_path / f"gunicorn-{n}.log") for n in ("a", "b")]
    ready = f"/v1/sessions/jwks/{django_settings.TRUSTED_AUTH['PROJECT_ID']}"
    try:
        for server in servers:
            server.start(ready)
        yield servers
    finally:
        for server in servers:
            server.stop()


def call(server: GunicornServer, path: str, secret: str, body: dict[str, Any]) -> requests.Response:
    return requests.post(server.url + path, json=body, auth=basic_auth(secret), timeout=30)


def test_a_token_attested_on_one_server_is_a_replay_on_the_other(
    gunicorn_pair, pem_profile, token_factory
):
    a, b = gunicorn_pair
    secret = create_secret("scale").clear_text
    token = token_factory(email="ada@example.com")
    body = {"profile_id": pem_profile.profile_id, "token": token, "session_duration_minutes": 60}

    first = call(a, "/v1/sessions/attest", secret, body)
    assert first.status_code == 200, first.text
    second = call(b, "/v1/sessions/attest", secret, body)

    assert second.status_code == 401, second.text
    assert second.json()["error_type"] == "trusted_token_replayed"
    assert Session.objects.count() == 1
    assert sorted(AuditEvent.objects.values_list("outcome", "error_type")) == [
        ("failure", "trusted_token_replayed"),
        ("success", ""),
    ]


def test_a_session_revoked_on_one_server_is_rejected_on_the_other(
    gunicorn_pair, pem_profile, token_factory
):
    a, b = gunicorn_pair
    secret = create_secret("scale").clear_text
    attested = call(
        a,
        "/v1/sessions/attest",
        secret,
        {
            "profile_id": pem_profile.profile_id,
            "token": token_factory(),
            "session_duration_minutes": 60,
        },
    )
    assert attested.status_code == 200, attested.text
    session_token = attested.json()["session_token"]
    session_jwt = attested.json()["session_jwt"]

    on_b = call(b, "/v1/sessions/authenticate", secret, {"session_token": session_token})
    assert on_b.status_code == 200, on_b.text
    # B verifies A's session JWT too: one signing key, created once, shared through the database.
    by_jwt = call(b, "/v1/sessions/authenticate", secret, {"session_jwt": session_jwt})
    assert by_jwt.status_code == 200, by_jwt.text

    revoked = call(a, "/v1/sessions/revoke", secret, {"session_token": session_token})
    assert revoked.status_code == 200, revoked.text

    for credentials in ({"session_token": session_token}, {"session_jwt": session_jwt}):
        after = call(b, "/v1/sessions/authenticate", secret, credentials)
        assert after.status_code == 404, after.text
        assert after.json()["error_type"] == "session_not_found"


def test_the_jwks_of_an_issuer_is_fetched_once_for_both_servers(
    gunicorn_pair, issuer, profile_factory
):
    a, b = gunicorn_pair
    secret = create_secret("scale").clear_text
    profile = profile_factory(jwks_url=issuer.url, can_jit_provision=True)

    for server, email in (
        (a, "ada@example.com"),
        (b, "grace@example.com"),
        (a, "alan@example.com"),
        (b, "edsger@example.com"),
    ):
        token = issuer.signer.sign(default_claims(email=email))
        response = call(
            server,
            "/v1/sessions/attest",
            secret,
            {"profile_id": profile.profile_id, "token": token, "session_duration_minutes": 60},
        )
        assert response.status_code == 200, response.text

    assert issuer.requests == 1
    assert Session.objects.count() == 4


# --- concurrency: many attests for one new identity at once ----------------------------------


def run_in_parallel(count: int, work) -> list[Any]:
    """``work(n)`` in ``count`` threads released together; each thread has its own database
    connection, closed when it is done. Returns the results (or exceptions) in order."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def run(n: int) -> None:
        try:
            barrier.wait(timeout=60)
            results[n] = work(n)
        except Exception as e:  # noqa: BLE001 - reported by the assertions below
            results[n] = e
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    return results


def authenticated_client(secret: str) -> APIClient:
    client = APIClient()
    credentials = f"{django_settings.TRUSTED_AUTH['PROJECT_ID']}:{secret}".encode()
    client.credentials(HTTP_AUTHORIZATION="Basic " + base64.b64encode(credentials).decode())
    return client


def attest_all_in_parallel(
    post, secret: str, profile_id: str, tokens: list[str], **fields: Any
) -> list[tuple[int, dict]]:
    """``post(client, profile_id, token, **fields)`` for every token at once; asserts that all
    of them succeeded and returns their ``(status, body)``."""

    def attest(n: int):
        response = post(authenticated_client(secret), profile_id, tokens[n], **fields)
        return response.status_code, response.json()

    results = run_in_parallel(len(tokens), attest)
    assert [r[0] if isinstance(r, tuple) else repr(r) for r in results] == [200] * len(tokens), (
        results
    )
    return results


def test_parallel_jit_attests_for_one_new_email_create_one_user(
    postgres_and_redis, pem_profile, token_factory
):
    secret = create_secret("scale").clear_text
    # Different case on purpose: the identity is the email, case-insensitively.
    tokens = [
        token_factory(email="Ada.Lovelace@example.com" if n % 2 else "ada.lovelace@EXAMPLE.com")
        for n in range(PARALLEL_ATTESTS)
    ]

    results = attest_all_in_parallel(
        post_attest, secret, pem_profile.profile_id, tokens, session_duration_minutes=60
    )

    assert get_user_model().objects.count() == 1
    identity = UserIdentity.objects.get()
    assert {body["user_id"] for _, body in results} == {identity.user_id}
    assert Session.objects.filter(user=identity.django_user).count() == PARALLEL_ATTESTS
    assert AuditEvent.objects.filter(outcome="success").count() == PARALLEL_ATTESTS


def test_parallel_jit_attests_with_an_external_id_create_one_user(
    postgres_and_redis, profile_factory, signer, token_factory
):
    profile = profile_factory(
        pem_keys=[signer.public_pem],
        can_jit_provision=True,
        attribute_mapping={"email": "email", "token_id": "jti", "external_user_id": "sub"},
    )
    secret = create_secret("scale").clear_text
    tokens = [
        token_factory(email="grace@example.com", sub="ext-grace") for _ in range(PARALLEL_ATTESTS)
    ]

    attest_all_in_parallel(
        post_attest, secret, profile.profile_id, tokens, session_duration_minutes=60
    )

    assert get_user_model().objects.count() == 1
    identity = UserIdentity.objects.get()
    link = identity.links.get()
    assert (link.issuer, link.kind, link.subject) == (profile.issuer, "external_id", "ext-grace")
    assert identity.external_id == "ext-grace"


def test_parallel_b2b_jit_attests_create_one_organization_and_one_member(
    postgres_and_redis, profile_factory, signer, token_factory
):
    profile = profile_factory(
        pem_keys=[signer.public_pem],
        attribute_mapping=B2B_MAPPING,
        can_jit_provision=True,
        can_jit_create_organizations=True,
    )
    create_organization(name="Unrelated", slug="unrelated")
    secret = create_secret("scale").clear_text
    tokens = [
        token_factory(email="ada@example.com", org="ext-new-org", roles=[])
        for _ in range(PARALLEL_ATTESTS)
    ]

    results = attest_all_in_parallel(post_b2b, secret, profile.profile_id, tokens)

    member = Member.objects.get()
    assert member.organization.external_id == "ext-new-org"
    assert {body["member_id"] for _, body in results} == {member.member_id}
    assert Session.objects.filter(member=member).count() == PARALLEL_ATTESTS


def test_the_benchmark_floor_endpoint_does_nothing(client):
    """``GET /example/noop`` (bench/run.py's framework floor) answers without credentials."""
    response = client.get("/example/noop")

    assert response.status_code == 200
    assert response.json() == {}
