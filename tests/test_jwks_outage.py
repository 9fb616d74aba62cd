"""A JWKS host that accepts connections and never answers (issue 13): the failure is remembered
for the cooldown, one fetch per profile is in flight, and other profiles are not slowed.

No timed assertions: each test asserts what the silent host saw (how many requests reached it)
and what each attest answered.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from trusted_auth.errors import TrustedAuthError
from trusted_auth.issuers.verification import verify_external_token
from trusted_auth.models import AuditEvent

from .issuers import SigningPair, default_claims
from .test_attest_rejections import post_attest

UNAVAILABLE = "jwks_unavailable"


class SilentHost:
    """``respond`` for a scripted server: take the request, answer nothing until released
    (then close the connection without a response) or until the server stops."""

    def __init__(self) -> None:
        self.release = threading.Event()

    def __call__(self, server, handler) -> None:
        while not self.release.wait(0.05) and not server.stopping.is_set():
            pass


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    """Wait for a condition (not a sleep of a guessed length); fail if it never holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.02)


def configure(settings, **values) -> None:
    settings.TRUSTED_AUTH = {**settings.TRUSTED_AUTH, **values}


def refusal(profile, token: str) -> TrustedAuthError:
    with pytest.raises(TrustedAuthError) as info:
        verify_external_token(profile, token)
    return info.value


@pytest.fixture
def silent(scripted_server):
    host = SilentHost()
    server = scripted_server(host)
    yield host, server
    host.release.set()


def test_a_failed_fetch_is_remembered_and_the_next_attest_does_not_connect(
    silent, profile_factory, api, settings
):
    host, server = silent
    configure(settings, JWKS_TOTAL_TIMEOUT_SECONDS=1.0)
    profile = profile_factory(jwks_url=server.url, can_jit_provision=True)
    signer = SigningPair.rsa()

    first = post_attest(api, profile.profile_id, signer.sign(default_claims()))
    assert first.status_code == 503 and first.json()["error_type"] == UNAVAILABLE
    assert len(server.requests) == 1

    for _ in range(3):
        again = post_attest(api, profile.profile_id, signer.sign(default_claims()))
        assert again.status_code == 503, again.json()
        assert again.json()["error_type"] == UNAVAILABLE
        assert 1 <= int(again["Retry-After"]) <= 31
    assert len(server.requests) == 1, "a remembered failure must not connect again"
    assert (
        list(AuditEvent.objects.values_list("outcome", "error_type"))
        == [("failure", UNAVAILABLE)] * 4
    )


def test_an_attest_waits_for_the_fetch_in_flight_instead_of_connecting(
    silent, profile_factory, settings
):
    host, server = silent
    configure(settings, JWKS_TOTAL_TIMEOUT_SECONDS=60.0, JWKS_FETCH_WAIT_SECONDS=0.2)
    profile = profile_factory(jwks_url=server.url)
    signer = SigningPair.rsa()
    outcome: list[TrustedAuthError] = []
    first = threading.Thread(
        target=lambda: outcome.append(refusal(profile, signer.sign(default_claims())))
    )
    first.start()
    wait_until(lambda: len(server.requests) == 1, "the first fetch to reach the host")

    second = refusal(profile, signer.sign(default_claims()))
    assert (second.error_type, second.status_code) == (UNAVAILABLE, 503)
    assert "another request" in second.message
    assert len(server.requests) == 1

    host.release.set()  # the host hangs up without an answer: the first fetch fails
    first.join(timeout=60)
    assert not first.is_alive()
    assert [(e.error_type, e.status_code) for e in outcome] == [(UNAVAILABLE, 503)]
    third = refusal(profile, signer.sign(default_claims()))
    assert "remembered" in third.message
    assert len(server.requests) == 1


def test_a_hanging_host_does_not_hold_up_another_profile(silent, issuer, profile_factory, settings):
    host, server = silent
    configure(settings, JWKS_TOTAL_TIMEOUT_SECONDS=60.0)
    hanging = profile_factory(jwks_url=server.url)
    healthy = profile_factory(jwks_url=issuer.url)
    signer = SigningPair.rsa()
    stuck = threading.Thread(target=lambda: refusal(hanging, signer.sign(default_claims())))
    stuck.start()
    wait_until(lambda: len(server.requests) == 1, "the hanging fetch to reach the host")

    for _ in range(5):
        verified = verify_external_token(healthy, issuer.signer.sign(default_claims()))
        assert verified.header["kid"] == issuer.signer.kid
    assert issuer.requests == 1
    assert stuck.is_alive(), "the other profile's fetch is still in flight"

    host.release.set()
    stuck.join(timeout=60)
    assert not stuck.is_alive()


def test_with_two_sync_workers_other_profiles_are_served_while_one_host_hangs(
    redis_server, deployment, scripted_server, signer
):
    host = SilentHost()
    server = scripted_server(host)
    shared = deployment(
        cache_url=redis_server.url,
        trusted_auth={"JWKS_TOTAL_TIMEOUT_SECONDS": 60.0, "JWKS_CONNECT_TIMEOUT_SECONDS": 5.0},
    )
    hanging_id = shared.jwks_profile(server.url, "--jit")["profile_id"]
    healthy_id = shared.pem_profile(signer.public_pem, "--jit")["profile_id"]
    gunicorn = shared.start(workers=2, extra_args=("--timeout", "120"))
    idp_key = SigningPair.rsa()

    def attest(profile_id: str, key: SigningPair, email: str):
        return shared.post(
            gunicorn,
            "/v1/sessions/attest",
            {
                "profile_id": profile_id,
                "token": key.sign(default_claims(email=email)),
                "session_duration_minutes": 60,
            },
        )

    first: list = []
    try:
        in_flight = threading.Thread(
            target=lambda: first.append(attest(hanging_id, idp_key, "a@example.com"))
        )
        in_flight.start()
        wait_until(lambda: len(server.requests) == 1, "the first fetch to reach the host")

        # The other worker: the hanging profile answers 503 after the short wait, without a
        # second connection; the healthy profile is served every time.
        waiting = attest(hanging_id, idp_key, "b@example.com")
        assert waiting.status_code == 503 and waiting.json()["error_type"] == UNAVAILABLE
        healthy = [attest(healthy_id, signer, f"user{n}@example.com") for n in range(10)]
        assert [r.status_code for r in healthy] == [200] * 10, [r.text for r in healthy][:2]
        assert in_flight.is_alive(), "the hanging fetch is still in flight"
        assert len(server.requests) == 1
    finally:
        host.release.set()
    in_flight.join(timeout=120)
    assert first and first[0].status_code == 503
    assert first[0].json()["error_type"] == UNAVAILABLE

    # The failure is remembered by both workers (the cache is shared): no new connection.
    for email in ("c@example.com", "d@example.com", "e@example.com"):
        again = attest(hanging_id, idp_key, email)
        assert again.status_code == 503 and "remembered" in again.json()["error_message"]
    assert len(server.requests) == 1
