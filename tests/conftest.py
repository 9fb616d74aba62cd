from __future__ import annotations

import base64
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
import stytch
import trustme
from django.core.cache import caches
from rest_framework.test import APIClient

from trusted_auth.models import ProfilePublicKey, TrustedAuthTokenProfile
from trusted_auth.services import process_cache, profile_cache
from trusted_auth.services.secrets import create_secret

from .deployment import Deployment
from .issuers import AUDIENCE, ISSUER, JwksIssuer, SigningPair, default_claims
from .redis_server import RedisServer
from .scripted_server import ScriptedServer
from .tls_server import TLSLiveServer


@pytest.fixture(scope="session")
def tls_ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="session")
def ca_bundle(tls_ca, tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    tls_ca.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture(scope="session")
def server_ssl_context(tls_ca):
    import ssl

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls_ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return context


@pytest.fixture(autouse=True)
def _isolation(settings, ca_bundle):
    """Each test starts with an empty cache and trusts the test CA for JWKS fetches."""
    settings.TRUSTED_AUTH = {**settings.TRUSTED_AUTH, "JWKS_CA_BUNDLE": ca_bundle}
    caches["default"].clear()
    profile_cache.clear()
    yield
    caches["default"].clear()
    # A transactional test ends by truncating the tables, counters included, which no
    # production database does: forget what this process kept for the old counter values.
    process_cache.clear_all()
    profile_cache.clear()


@pytest.fixture(scope="session")
def signer() -> SigningPair:
    return SigningPair.rsa()


@pytest.fixture
def issuer(server_ssl_context):
    """A JWKS issuer served over TLS on loopback, with one RSA key to start with."""
    jwks_issuer = JwksIssuer(keys=[SigningPair.rsa()])
    jwks_issuer.start(server_ssl_context)
    yield jwks_issuer
    jwks_issuer.stop()


@pytest.fixture
def profile_factory(db):
    def make(*, pem_keys: list[str] | None = None, jwks_url: str = "", **fields: Any):
        fields.setdefault("name", "Test issuer")
        fields.setdefault("issuer", ISSUER)
        fields.setdefault("audience", AUDIENCE)
        fields.setdefault("attribute_mapping", {"email": "email", "token_id": "jti"})
        key_type = (
            TrustedAuthTokenProfile.KeyType.JWK if jwks_url else TrustedAuthTokenProfile.KeyType.PEM
        )
        profile = TrustedAuthTokenProfile.objects.create(
            public_key_type=key_type, jwks_url=jwks_url, **fields
        )
        for pem in pem_keys or []:
            ProfilePublicKey.objects.create(profile=profile, public_key_pem=pem)
        return profile

    return make


@pytest.fixture
def pem_profile(profile_factory, signer):
    return profile_factory(pem_keys=[signer.public_pem], can_jit_provision=True)


@pytest.fixture
def token_factory(signer):
    """Sign test tokens: ``token_factory(email=…, exp=DROP, headers={…}, key=other_pair)``."""

    def make(
        key: SigningPair | None = None,
        headers: dict[str, Any] | None = None,
        with_kid: bool = True,
        **claims: Any,
    ) -> str:
        return (key or signer).sign(default_claims(**claims), headers=headers, with_kid=with_kid)

    return make


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
def tls_live_server(transactional_db, server_ssl_context, settings):
    """The example project over HTTPS on 127.0.0.1; our session JWT ``iss`` is its base URL."""
    server = TLSLiveServer(server_ssl_context)
    server.start()
    settings.TRUSTED_AUTH = {**settings.TRUSTED_AUTH, "ISSUER": server.url}
    yield server
    server.stop()


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
