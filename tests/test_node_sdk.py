"""The official Node SDK (``tests/node``, pinned) calls ``get_jwks`` and ``users.create`` against
us over TLS. Skipped when node or ``tests/node/node_modules`` is missing, except under ``CI``,
where a missing Node SDK is a failure."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from trusted_auth.models import AuditEvent, SigningKey, UserIdentity
from trusted_auth.sessions.secrets import create_secret

NODE_DIR = Path(__file__).parent / "node"


def _node() -> str:
    node = shutil.which("node")
    if node and (NODE_DIR / "node_modules" / "stytch").is_dir():
        return node
    if os.environ.get("CI"):
        pytest.fail("CI is set but node or tests/node/node_modules is missing (npm ci there)")
    pytest.skip("node or tests/node/node_modules missing (npm ci --prefix tests/node)")


def test_node_sdk_reads_our_jwks_and_creates_a_user(tls_live_server, ca_bundle, settings):
    node = _node()
    secret = create_secret("node sdk").clear_text
    environment = {
        **os.environ,
        "NODE_EXTRA_CA_CERTS": ca_bundle,
        "TA_BASE_URL": f"{tls_live_server.url}/",
        "TA_PROJECT_ID": settings.TRUSTED_AUTH["PROJECT_ID"],
        "TA_SECRET": secret,
        "TA_EMAIL": "node@example.com",
        "NO_PROXY": "127.0.0.1,localhost",
    }

    finished = subprocess.run(
        [node, str(NODE_DIR / "sdk_surface.js")],
        env=environment,
        cwd=NODE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert finished.returncode == 0, finished.stderr
    result = json.loads(finished.stdout)
    key = SigningKey.objects.get(state="current")
    [jwk] = result["jwks"]["keys"]
    assert jwk["kid"] == key.kid
    assert base64.b64decode(jwk["x5c"][0]) == bytes(key.certificate)
    identity = UserIdentity.objects.get(email="node@example.com")
    created = result["created"]
    assert created["status_code"] == 200
    assert created["user_id"] == created["user"]["user_id"] == identity.user_id
    assert (identity.external_id, identity.trusted_metadata, identity.name) == (
        "node-user",
        {"via": "node"},
        {"first_name": "Node"},
    )
    assert result["duplicate"] == {"status_code": 409, "error_type": "duplicate_email"}
    event = AuditEvent.objects.get(action="user_create")
    assert event.user_id == identity.user_id
    assert event.user_agent.startswith("Stytch Node v")
