"""The database is the source of truth (issue 13): one attest is one transaction.

A token is consumed exactly when its session (or factor) commits; every session has its success
audit event; every attest request leaves exactly one event; a crash, a database error or a
killed worker between verification and commit leaves the token retryable and nothing half-made;
an empty (restarted) cache changes nothing.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import threading
import time
from datetime import timedelta
from io import StringIO

import jwt
import pytest
import requests
from django.conf import settings as django_settings
from django.core.cache import caches
from django.core.management import call_command
from django.db import OperationalError, connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from trusted_auth.adapter import DefaultTrustedAuthAdapter
from trusted_auth.models import AuditEvent, ConsumedToken, Session, UserIdentity
from trusted_auth.sessions.secrets import create_secret

from .gunicorn_server import GunicornServer
from .test_attest_rejections import assert_rejected, post_attest
from .test_scale import basic_auth, database_url, postgres_and_redis  # noqa: F401 (fixture)


def attest_body(profile, token: str) -> dict:
    return {"profile_id": profile.profile_id, "token": token, "session_duration_minutes": 60}


class CrashOnce(DefaultTrustedAuthAdapter):
    """Fails the next sign-in after the token was verified and consumed inside the transaction:
    with a bug (``RuntimeError``) or a database outage (``OperationalError``)."""

    error: type[Exception] | None = None

    def pre_sign_in(self, profile, attributes, principal):
        error, CrashOnce.error = CrashOnce.error, None
        if error is not None:
            raise error("injected between verification and commit")


@pytest.fixture
def crash_once(settings):
    settings.TRUSTED_AUTH = {**settings.TRUSTED_AUTH, "ADAPTER": f"{__name__}.CrashOnce"}
    yield CrashOnce
    CrashOnce.error = None


@pytest.mark.parametrize(
    ("error", "status", "error_type"),
    [
        (RuntimeError, 500, "internal_server_error"),
        (OperationalError, 503, "service_unavailable"),
    ],
)
def test_a_failure_before_commit_leaves_the_token_retryable_and_nothing_half_made(
    api, pem_profile, token_factory, crash_once, error, status, error_type
):
    crash_once.error = error
    token = token_factory()
    failed = api.post("/v1/sessions/attest", attest_body(pem_profile, token), format="json")
    assert failed.status_code == status, failed.content
    assert failed.json()["error_type"] == error_type
    # Nothing of the attest committed: no consumed token, no JIT user, no session.
    assert not ConsumedToken.objects.exists()
    assert not UserIdentity.objects.exists() and not Session.objects.exists()
    [event] = AuditEvent.objects.all()
    assert (event.outcome, event.error_type) == ("failure", error_type)
    assert event.token_id  # what was learned before the failure is kept
    retried = post_attest(api, pem_profile.profile_id, token, session_duration_minutes=60)
    assert retried.status_code == 200, retried.json()
    assert ConsumedToken.objects.count() == Session.objects.count() == 1
    again = post_attest(api, pem_profile.profile_id, token, session_duration_minutes=60)
    assert_rejected(again, 401, "trusted_token_replayed", sessions=1)


def test_a_failure_while_attaching_a_factor_leaves_the_session_as_it_was(
    api, pem_profile, token_factory, crash_once
):
    started = post_attest(
        api, pem_profile.profile_id, token_factory(), session_duration_minutes=60
    ).json()
    crash_once.error = RuntimeError
    token = token_factory()
    body = {**attest_body(pem_profile, token), "session_token": started["session_token"]}
    assert api.post("/v1/sessions/attest", body, format="json").status_code == 500
    assert len(Session.objects.get().authentication_factors) == 1
    retried = api.post("/v1/sessions/attest", body, format="json")
    assert retried.status_code == 200, retried.json()
    assert len(Session.objects.get().authentication_factors) == 2


def test_an_emptied_cache_does_not_make_a_consumed_token_usable(api, pem_profile, token_factory):
    """A Redis restarted without persistence is an empty cache: the replay record is a row."""
    token = token_factory()
    first = post_attest(api, pem_profile.profile_id, token, session_duration_minutes=60)
    assert first.status_code == 200, first.json()
    caches["default"].clear()
    again = post_attest(api, pem_profile.profile_id, token, session_duration_minutes=60)
    assert_rejected(again, 401, "trusted_token_replayed", sessions=1)
    assert ConsumedToken.objects.count() == 1


def test_clear_expired_prunes_the_replay_records_of_tokens_that_can_no_longer_verify(
    api, pem_profile, token_factory
):
    post_attest(api, pem_profile.profile_id, token_factory())
    post_attest(api, pem_profile.profile_id, token_factory())
    stale = ConsumedToken.objects.first()
    stale.expires_at = timezone.now() - timedelta(seconds=1)
    stale.save()
    out = StringIO()
    call_command("trusted_auth", "sessions", "clear-expired", stdout=out, stderr=StringIO())
    assert '"consumed_tokens_deleted": 1' in out.getvalue()
    assert list(ConsumedToken.objects.all()) != [stale] and ConsumedToken.objects.count() == 1


def test_a_refused_attest_consumes_nothing(api, profile_factory, signer, token_factory):
    """No JIT and no user: refused after verification, inside the transaction; the same token
    attests once the user exists (here: once JIT is switched on)."""
    profile = profile_factory(pem_keys=[signer.public_pem])
    token = token_factory()
    assert_rejected(post_attest(api, profile.profile_id, token), 404, "user_not_found")
    assert not ConsumedToken.objects.exists()
    profile.can_jit_provision = True
    profile.save()
    assert post_attest(api, profile.profile_id, token).status_code == 200


def test_every_request_leaves_one_event_and_every_session_its_success_event(
    api, pem_profile, token_factory, crash_once
):
    tokens = [token_factory() for _ in range(4)]
    requests_made = 0
    for token in tokens:  # four sessions
        assert post_attest(api, pem_profile.profile_id, token, session_duration_minutes=60)
        requests_made += 1
    for token in tokens[:2]:  # two replays
        post_attest(api, pem_profile.profile_id, token, session_duration_minutes=60)
        requests_made += 1
    post_attest(api, pem_profile.profile_id, token_factory(aud="elsewhere"))  # a bad token
    post_attest(api, "ttp-nope", token_factory())  # an unknown profile
    api.post("/v1/sessions/attest", {"token": "x"}, format="json")  # a malformed request
    requests_made += 3
    crash_once.error = RuntimeError
    api.post("/v1/sessions/attest", attest_body(pem_profile, token_factory()), format="json")
    requests_made += 1
    assert AuditEvent.objects.count() == requests_made
    sessions = set(Session.objects.values_list("session_id", flat=True))
    assert len(sessions) == 4
    assert (
        set(AuditEvent.objects.filter(outcome="success").values_list("session_id", flat=True))
        == sessions
    )


# --- several processes on PostgreSQL + Redis ------------------------------------------------


@pytest.fixture
def gunicorn_workers(postgres_and_redis, ca_bundle, tmp_path):  # noqa: F811
    """One Gunicorn master with 3 sync workers on the test database and Redis."""
    env = {
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": database_url(),
        "CACHE_URL": django_settings.CACHES["default"]["LOCATION"],
        "TRUSTED_AUTH_JWKS_CA_BUNDLE": ca_bundle,
    }
    server = GunicornServer(env, tmp_path / "gunicorn.log", workers=3)
    server.start(f"/v1/sessions/jwks/{django_settings.TRUSTED_AUTH['PROJECT_ID']}")
    yield server
    server.stop()


def test_one_token_posted_in_parallel_opens_exactly_one_session(
    gunicorn_workers, pem_profile, token_factory
):
    secret = create_secret("parallel").clear_text
    token = token_factory()
    body = attest_body(pem_profile, token)
    barrier = threading.Barrier(8)
    outcomes: list[tuple[int, str]] = []

    def post() -> None:
        barrier.wait()
        response = requests.post(
            gunicorn_workers.url + "/v1/sessions/attest",
            json=body,
            auth=basic_auth(secret),
            timeout=60,
        )
        outcomes.append((response.status_code, response.json().get("error_type", "")))

    threads = [threading.Thread(target=post) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == [(200, "")] + [(401, "trusted_token_replayed")] * 7, outcomes
    assert Session.objects.count() == ConsumedToken.objects.count() == 1


def _worker_pids(master: int) -> list[int]:
    done = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True)
    return [int(pid) for pid in done.stdout.split()]


def test_workers_killed_mid_burst_lose_no_token_and_no_audit_event(
    gunicorn_workers, pem_profile, token_factory
):
    """``kill -9`` of workers while attests are in flight: every session keeps its success event,
    and every token whose request died is either committed (its session exists) or retryable."""
    secret = create_secret("chaos").clear_text
    tokens = [token_factory() for _ in range(240)]
    failed: list[str] = []
    lock = threading.Lock()
    queue = list(tokens)

    def client() -> None:
        with requests.Session() as http:
            while True:
                with lock:
                    if not queue:
                        return
                    token = queue.pop()
                try:
                    response = http.post(
                        gunicorn_workers.url + "/v1/sessions/attest",
                        json=attest_body(pem_profile, token),
                        auth=basic_auth(secret),
                        timeout=60,
                    )
                    ok = response.status_code == 200
                except requests.RequestException:
                    ok = False
                if not ok:
                    with lock:
                        failed.append(token)

    clients = [threading.Thread(target=client) for _ in range(4)]
    for thread in clients:
        thread.start()
    rng = random.Random(13)
    kills = 0
    while any(thread.is_alive() for thread in clients) and kills < 8:
        time.sleep(rng.uniform(0.2, 0.6))
        pids = _worker_pids(gunicorn_workers.process.pid)
        if pids:
            os.kill(rng.choice(pids), signal.SIGKILL)
            kills += 1
    for thread in clients:
        thread.join()
    assert kills >= 3, "the burst ended before workers could be killed"

    # Every session has its success event (they commit together).
    sessions = set(Session.objects.values_list("session_id", flat=True))
    assert sessions == set(
        AuditEvent.objects.filter(outcome="success").values_list("session_id", flat=True)
    )
    # Every consumed token yielded a session: nothing was used up by a request that died.
    assert ConsumedToken.objects.count() == len(sessions)
    # Each failed token now attests, or it had committed (then its session exists).
    committed_token_ids = {
        factor["trusted_auth_token_factor"]["token_id"]
        for factors in Session.objects.values_list("authentication_factors", flat=True)
        for factor in factors
    }
    for token in failed:
        token_id = jwt.decode(token, options={"verify_signature": False})["jti"]
        retried = requests.post(
            gunicorn_workers.url + "/v1/sessions/attest",
            json=attest_body(pem_profile, token),
            auth=basic_auth(secret),
            timeout=60,
        )
        if token_id in committed_token_ids:
            assert retried.json()["error_type"] == "trusted_token_replayed", retried.text
        else:
            assert retried.status_code == 200, retried.text
    assert ConsumedToken.objects.count() == Session.objects.count() == len(tokens)


@pytest.mark.django_db(transaction=True)
def test_one_attest_makes_few_sql_statements_with_one_commit(api, pem_profile, token_factory):
    """With the worker's caches warm (API secret, signing keys, profile): the generation
    counters, then one transaction — the link lookup (the identity, then its Django user),
    then one INSERT each for the
    consumed-token row, the session and the audit event, the commit. A regression shows here
    first (SQLite also logs its ``BEGIN``)."""
    for _ in range(2):  # the first attests create the signing key and the JIT user
        post_attest(api, pem_profile.profile_id, token_factory(), session_duration_minutes=60)
    with CaptureQueriesContext(connection) as queries:
        response = post_attest(
            api, pem_profile.profile_id, token_factory(), session_duration_minutes=60
        )
    assert response.status_code == 200, response.json()
    statements = [q["sql"] for q in queries.captured_queries if q["sql"] != "BEGIN"]
    assert len(statements) == 7, "\n".join(statements)
    assert "trusted_auth_generation" in statements[0]
    assert "trusted_auth_identitylink" in statements[1]
    assert "auth_user" in statements[2]
    assert statements[-1] == "COMMIT"
    tables = ["trusted_auth_consumedtoken", "trusted_auth_session", "trusted_auth_auditevent"]
    for write, table in zip(statements[3:-1], tables, strict=True):
        assert write.startswith("INSERT") and table in write, write


@pytest.mark.django_db(transaction=True)
def test_the_session_jwt_is_signed_after_the_commit(api, pem_profile, token_factory, monkeypatch):
    """The RSA signature (the costliest step) holds no write lock: on SQLite every other writer
    waits while a transaction is open. The signing key is read before the transaction, so a
    missing or undecryptable key still fails the attest before the token is consumed."""
    signed_in_transaction = []
    encode = jwt.encode

    def spy(*args, **kwargs):
        signed_in_transaction.append(connection.in_atomic_block)
        return encode(*args, **kwargs)

    token = token_factory()
    monkeypatch.setattr("trusted_auth.sessions.session_jwt.jwt.encode", spy)
    response = post_attest(api, pem_profile.profile_id, token, session_duration_minutes=60)
    assert response.status_code == 200, response.json()
    assert signed_in_transaction == [False]
