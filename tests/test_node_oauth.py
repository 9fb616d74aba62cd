"""Node's ``openid-client`` (pinned in ``tests/node``) discovers our issuer over TLS, runs the
token exchange, introspects and revokes; ``jose`` verifies our session JWT from the discovered
``jwks_uri``. Skipped when node or ``tests/node/node_modules`` is missing, except under ``CI``."""

from __future__ import annotations

from trusted_auth.models import AuditEvent, Session, SigningKey
from trusted_auth.sessions.secrets import create_secret

from .node_runner import node_with, run_node


def test_openid_client_discovers_exchanges_introspects_and_jose_verifies(
    tls_live_server, ca_bundle, settings, pem_profile, token_factory
):
    result = run_node(
        node_with("openid-client", "jose"),
        "oauth_client.mjs",
        ca_bundle,
        TA_ISSUER=tls_live_server.url,
        TA_PROJECT_ID=settings.TRUSTED_AUTH["PROJECT_ID"],
        TA_SECRET=create_secret("openid-client").clear_text,
        TA_SUBJECT_TOKEN=token_factory(email="node-oauth@example.com"),
    )
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
