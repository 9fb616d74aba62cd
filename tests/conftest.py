from __future__ import annotations

import base64
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
import stytch
from django.core.cache import caches
from rest_framework.test import APIClient

from trusted_auth.internal import cache
from trusted_auth.sessions.secrets import create_secret

from .deployment import Deployment
from .redis_server import RedisServer
from .scripted_server import ScriptedServer

# The issuer, TLS and profile fixtures a host project can use too (tls_ca, ca_bundle,
# server_ssl_context, issuer, signer, token_factory, profile_factory, tls_live_server, clock,
# rsa_key_pool): this suite uses them the way a host project would.
pytest_plugins = ["trusted_auth.testing"]


def pytest_xdist_auto_num_workers(config):
    """``-n auto``: one worker per core, but none on a shared Redis (the PostgreSQL + Redis pass),
    where each test's ``cache.clear()`` would flush the other workers' replay markers."""
    if os.environ.get("CACHE_URL", "").startswith(("redis://", "rediss://")):
        return 0
    return None  # xdist's own choice: the number of CPUs


@pytest.fixture(autouse=True)
def _key_pool(rsa_key_pool):
    """Every RSA key of the run (test issuers, session signing keys) comes from one pool of
    real keys, reused between tests, instead of a fresh 2048-bit key each time."""
    with rsa_key_pool.lease():
        yield


@pytest.fixture(autouse=True)
def _isolation(settings, ca_bundle):
    """Each test starts with an empty cache and trusts the test CA for JWKS fetches."""
    settings.TRUSTED_AUTH = {**settings.TRUSTED_AUTH, "JWKS_CA_BUNDLE": ca_bundle}
    caches["default"].clear()
    cache.clear_all()
    yield
    caches["default"].clear()
    # A transactional test ends by truncating the tables, counters included, which no
    # production database does: forget what this process kept for the old counter values.
    cache.clear_all()


@pytest.fixture
def pem_profile(profile_factory, signer):
    return profile_factory(pem_keys=[signer.public_pem], can_jit_provision=True)


@pytest.fixture
def api_secret(db) -> str:
    return create_secret("tests").clear_text


@pytest.fixture
def api(api_secret, settings) -> APIClient:
    client = APIClient()
    credentials = f"{settings.TRUSTED_AUTH['PROJECT_ID']}:{api_secret}".encode()
    client.credentials(HTTP_AUTHORIZATION="Basic " + base64.b64encode(credentials).decode())
    return client


@pytest.fixture
def trust_test_ca(monkeypatch, ca_bundle):
    """Trust the test CA the way a deployment would: through the environment, set before any
    client (and so any SSL context) is created."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", ca_bundle)
    monkeypatch.setenv("SSL_CERT_FILE", ca_bundle)
    # A proxy configured on the developer's machine must not intercept loopback.
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


@pytest.fixture
def sdk_factory(tls_live_server, settings):
    """Build ``stytch.Client``s (or, with ``make(secret, b2b=True)``, ``B2BClient``s) for our
    server; their HTTP sessions are closed at teardown so no keep-alive connection outlives it."""
    http_sessions: list[requests.Session] = []

    def make(secret: str, b2b: bool = False):
        http_session = requests.Session()
        http_sessions.append(http_session)
        client_class = stytch.B2BClient if b2b else stytch.Client
        return client_class(
            settings.TRUSTED_AUTH["PROJECT_ID"],
            secret,
            custom_base_url=f"{tls_live_server.url}/",
            sync_session=http_session,
        )

    yield make
    for http_session in http_sessions:
        http_session.close()


@pytest.fixture
def sdk(trust_test_ca, sdk_factory) -> stytch.Client:
    return sdk_factory(create_secret("sdk compat").clear_text)


@pytest.fixture
def scripted_server(server_ssl_context) -> Iterator[Callable[..., ScriptedServer]]:
    """Start ``ScriptedServer``s with ``scripted_server(respond)``; all stop at teardown."""
    started: list[ScriptedServer] = []

    def start(respond) -> ScriptedServer:
        started.append(ScriptedServer(server_ssl_context, respond))
        return started[-1]

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def redis_server(tmp_path) -> Iterator[RedisServer]:
    """A ``redis-server`` of this test's own (killed, stalled, restarted by fault tests).
    Skipped when redis-server is not installed, unless ``TESTS_REQUIRE_POSTGRES`` is set."""
    if not RedisServer.available():
        if os.environ.get("TESTS_REQUIRE_POSTGRES"):
            pytest.fail("redis-server is not installed, and TESTS_REQUIRE_POSTGRES is set")
        pytest.skip("needs redis-server")
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def deployment(tmp_path, ca_bundle) -> Iterator[Callable[..., Deployment]]:
    """Make example-project deployments (own SQLite file, CLI and Gunicorn in child processes)
    with ``deployment(cache_url=…, trusted_auth={…})``; their servers stop at teardown."""
    made: list[Deployment] = []

    def make(**kwargs: Any) -> Deployment:
        directory = tmp_path / f"deployment-{len(made)}"
        directory.mkdir()
        made.append(Deployment(directory, ca_bundle=ca_bundle, **kwargs))
        made[-1].prepare()
        return made[-1]

    yield make
    for each in made:
        each.stop()
