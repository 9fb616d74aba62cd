"""Node's ``openid-client`` (pinned in ``tests/node``) discovers our issuer over TLS, runs the
token exchange, introspects and revokes; ``jose`` verifies our session JWT from the discovered
``jwks_uri``. Skipped when node or ``tests/node/node_modules`` is missing, except under ``CI``."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from trusted_auth.models import AuditEvent, Session, SigningKey
from trusted_auth.sessions.secrets import create_secret

NODE_DIR = Path(__file__).parent / "node"


def _node() -> str:
    node = shutil.which("node")
    modules = NODE_DIR / "node_modules"
    if node and (modules / "openid-client").is_dir() and (modules / "jose").is_dir():
        return node
    if os.environ.get("CI"):
        pytest.fail("CI is set but node or tests/node/node_modules is missing (npm ci there)")
    pytest.skip("node or tests/node/node_modules missing (npm ci --prefix tests/node)")


def test_openid_client_discovers_exchanges_introspects_and_jose_verifies(
    tls_live_server, ca_bundle, settings, pem_profile, token_factory
):
    node = _node()
    environment = {
        **os.environ,
        "NODE_EXTRA_CA_CERTS": ca_bundle,
        "TA_ISSUER": tls_live_server.url,
        "TA_PROJECT_ID": settings.TRUSTED_AUTH["PROJECT_ID"],
        "TA_SECRET": create_secret("openid-client").clear_text,
        "TA_SUBJECT_TOKEN": token_factory(email="node-oauth@example.com"),
        "NO_PROXY": "127.0.0.1,localhost",
    }

    finished = subprocess.run(
        [node, str(NODE_DIR / "oauth_client.mjs")],
        env=environment,
        cwd=NODE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert finished.returncode == 0, finished.stderr
    result = json.loads(finished.stdout)
    session = Session.objects.get()
    user_id = session.user.trusted_auth_identity.user_id
    assert result["issuer"] == tls_live_server.url
    assert result["token"] == {
        "token_type": "bearer",  # openid-client lowercases it
        "issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
        "expires_in": result["token"]["expires_in"],
        "has_refresh_token": True,
    }
    assert 0 < result["token"]["expires_in"] <= 300
    assert result["introspection"]["active"] is True
    assert result["introspection"]["sub"] == user_id
    assert result["introspection"]["session_id"] == session.session_id
    assert result["verified"] == {
        "sub": user_id,
        "kid": SigningKey.objects.get(state="current").kid,
        "session": session.session_id,
    }
    assert result["after_revocation"]["active"] is False
    assert session.revoked_at is not None  # revoked by the script (RFC 7009)
    [event] = AuditEvent.objects.filter(action="attest")
    assert (event.outcome, event.via) == ("success", "oauth")
