"""Key and secret lifecycle: rotation without downtime (signing keys, API secrets, KEK)."""

from __future__ import annotations

import json
import time
from io import StringIO

import jwt
import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core.management import call_command
from django.core.management.base import CommandError

from trusted_auth.errors import TrustedAuthError, Unauthorized
from trusted_auth.models import SigningKey
from trusted_auth.sessions import secrets, signing_keys
from trusted_auth.sessions.signing_keys import RotationRefused, current_signing_key


def cli(*args: str):
    out = StringIO()
    call_command("trusted_auth", *args, stdout=out, stderr=StringIO())
    return json.loads(out.getvalue())


def jwks_kids(client, settings) -> list[str]:
    body = client.get(f"/v1/sessions/jwks/{settings.TRUSTED_AUTH['PROJECT_ID']}").json()
    return [key["kid"] for key in body["keys"]]


@pytest.fixture
def quick_rotation(settings):
    settings.TRUSTED_AUTH = {
        **settings.TRUSTED_AUTH,
        "SESSION_JWT_LIFETIME_SECONDS": 1,
        "KEY_PUBLISH_SECONDS": 3600,
    }


@pytest.mark.django_db
def test_rotate_publishes_next_then_promotes_then_retires(clock, client, settings, quick_rotation):
    old = current_signing_key()
    published = cli("keys", "rotate")
    assert published["state"] == "next"
    assert set(jwks_kids(client, settings)) == {old.kid, published["kid"]}
    assert current_signing_key().kid == old.kid  # published, not signing yet

    with pytest.raises(CommandError, match="promote after 3600 s"):
        cli("keys", "rotate")
    promoted = cli("keys", "rotate", "--promote")
    assert promoted == {
        "action": "promoted",
        "kid": published["kid"],
        "state": "current",
        "previous": [old.kid],
    }
    assert current_signing_key().kid == published["kid"]
    assert set(jwks_kids(client, settings)) == {old.kid, published["kid"]}

    with pytest.raises(CommandError, match="may still be live"):
        cli("keys", "retire")
    clock.advance(1.1)
    assert cli("keys", "retire") == {"action": "retired", "kids": [old.kid]}
    assert jwks_kids(client, settings) == [published["kid"]]


@pytest.mark.django_db
def test_second_rotate_after_publish_window_promotes_without_flag(clock, settings):
    settings.TRUSTED_AUTH = {**settings.TRUSTED_AUTH, "KEY_PUBLISH_SECONDS": 1}
    current_signing_key()
    published = signing_keys.rotate()
    with pytest.raises(RotationRefused):
        signing_keys.rotate()
    clock.advance(1.1)
    assert signing_keys.rotate()["kid"] == published["kid"]
    assert current_signing_key().kid == published["kid"]


@pytest.mark.django_db
def test_jwks_max_age_is_within_the_publish_window(client, settings):
    settings.TRUSTED_AUTH = {**settings.TRUSTED_AUTH, "KEY_PUBLISH_SECONDS": 120}
    response = client.get(f"/v1/sessions/jwks/{settings.TRUSTED_AUTH['PROJECT_ID']}")
    assert response["Cache-Control"] == "public, max-age=60"


@pytest.mark.django_db
def test_force_retire_and_a_jwt_signed_by_a_retired_key_is_rejected(
    api, pem_profile, token_factory
):
    attested = api.post(
        "/v1/sessions/attest",
        {
            "profile_id": pem_profile.profile_id,
            "token": token_factory(),
            "session_duration_minutes": 60,
        },
        format="json",
    ).json()
    signing_keys.rotate()
    signing_keys.rotate(promote=True)
    assert signing_keys.retire(force=True)["kids"]
    response = api.post(
        "/v1/sessions/authenticate", {"session_jwt": attested["session_jwt"]}, format="json"
    )
    assert response.status_code == 404
    assert response.json()["error_type"] == "session_not_found"
    # The session itself lives: its opaque token still works and gets a JWT from the new key.
    response = api.post(
        "/v1/sessions/authenticate", {"session_token": attested["session_token"]}, format="json"
    )
    assert response.status_code == 200
    assert (
        jwt.get_unverified_header(response.json()["session_jwt"])["kid"]
        == current_signing_key().kid
    )


@pytest.mark.django_db
def test_new_keys_are_rsa_2048_by_default(settings):
    settings.TRUSTED_AUTH = {
        k: v for k, v in settings.TRUSTED_AUTH.items() if k != "SIGNING_KEY_SIZE"
    }
    key = signing_keys.generate_signing_key(SigningKey.State.NEXT)
    assert key.key_size == 2048
    assert signing_keys.private_key(key).key_size == 2048


@pytest.mark.django_db
def test_a_larger_key_size_applies_to_new_keys_only(settings):
    settings.TRUSTED_AUTH = {**settings.TRUSTED_AUTH, "SIGNING_KEY_SIZE": 2048}
    existing = current_signing_key()
    settings.TRUSTED_AUTH = {**settings.TRUSTED_AUTH, "SIGNING_KEY_SIZE": 3072}
    assert current_signing_key().kid == existing.kid  # the signing key is not replaced
    assert signing_keys.private_key(current_signing_key()).key_size == 2048
    published = signing_keys.rotate()
    assert SigningKey.objects.get(kid=published["kid"]).key_size == 3072
    assert signing_keys.private_key(SigningKey.objects.get(kid=published["kid"])).key_size == 3072


@pytest.mark.django_db
def test_reencrypt_moves_keys_to_a_new_kek(settings):
    old_kek = Fernet.generate_key().decode()
    settings.TRUSTED_AUTH = {**settings.TRUSTED_AUTH, "KEY_ENCRYPTION_KEY": old_kek}
    key = current_signing_key()
    new_kek = Fernet.generate_key().decode()
    settings.TRUSTED_AUTH = {**settings.TRUSTED_AUTH, "KEY_ENCRYPTION_KEY": new_kek}
    key.refresh_from_db()
    with pytest.raises(InvalidToken):
        Fernet(new_kek.encode()).decrypt(bytes(key.private_key_encrypted))
    assert cli("keys", "reencrypt", f"--from-old-kek={old_kek}") == {"reencrypted": 1}
    key.refresh_from_db()
    Fernet(new_kek.encode()).decrypt(bytes(key.private_key_encrypted))
    assert cli("keys", "reencrypt", f"--from-old-kek={old_kek}") == {"reencrypted": 0}
    with pytest.raises(CommandError, match="neither"):
        settings.TRUSTED_AUTH = {
            **settings.TRUSTED_AUTH,
            "KEY_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        }
        cli("keys", "reencrypt", f"--from-old-kek={old_kek}")


@pytest.mark.django_db
def test_reencrypt_takes_an_old_kek_that_begins_with_a_dash(settings):
    """One Fernet key in 64 begins with '-' (urlsafe base64): the documented ``=`` form takes it."""
    old_kek = "-" + Fernet.generate_key().decode()[1:]
    Fernet(old_kek.encode())  # still a valid key
    settings.TRUSTED_AUTH = {**settings.TRUSTED_AUTH, "KEY_ENCRYPTION_KEY": old_kek}
    current_signing_key()
    settings.TRUSTED_AUTH = {
        **settings.TRUSTED_AUTH,
        "KEY_ENCRYPTION_KEY": Fernet.generate_key().decode(),
    }
    assert cli("keys", "reencrypt", f"--from-old-kek={old_kek}") == {"reencrypted": 1}


@pytest.mark.django_db
def test_secret_rotation_start_complete_and_cancel(settings):
    project = settings.TRUSTED_AUTH["PROJECT_ID"]
    old = secrets.create_secret("old")
    started = cli("secret", "rotate", "--start")
    assert started["replaces"] == old.secret.secret_id
    assert secrets.authenticate_secret(project, old.clear_text)
    assert secrets.authenticate_secret(project, started["secret"])
    with pytest.raises(CommandError, match="already under way"):
        cli("secret", "rotate", "--start")
    cli("secret", "rotate", "--complete")
    with pytest.raises(Unauthorized):
        secrets.authenticate_secret(project, old.clear_text)
    assert secrets.authenticate_secret(project, started["secret"])

    second = secrets.rotate_start()
    cli("secret", "rotate", "--cancel")
    with pytest.raises(Unauthorized):
        secrets.authenticate_secret(project, second.clear_text)
    assert secrets.authenticate_secret(project, started["secret"])
    with pytest.raises(TrustedAuthError, match="no secret rotation"):
        secrets.rotate_complete()


def test_rotation_under_traffic_has_zero_failures(
    trust_test_ca, sdk_factory, pem_profile, token_factory, settings
):
    """rotate → promote → retire while sessions are attested and authenticated continuously,
    each session JWT verified by a long-lived PyJWKClient against our JWKS.

    The client caches the JWKS for its ``max-age`` (as a client honouring ``Cache-Control``
    would) and, like the SDK's, refetches on an unknown kid at most once per 30 s — so it is the
    publish window, not that refetch, that must carry the new key to it before it signs.
    """
    settings.TRUSTED_AUTH = {
        **settings.TRUSTED_AUTH,
        "SESSION_JWT_LIFETIME_SECONDS": 2,
        "KEY_PUBLISH_SECONDS": 3,
    }
    sdk = sdk_factory(secrets.create_secret("traffic").clear_text)
    project_id = settings.TRUSTED_AUTH["PROJECT_ID"]
    issuer = settings.TRUSTED_AUTH["ISSUER"]
    max_age = int(
        sdk.sync_client._session.get(f"{issuer}/v1/sessions/jwks/{project_id}")
        .headers["Cache-Control"]
        .rsplit("=", 1)[1]
    )
    verifier = jwt.PyJWKClient(
        f"{issuer}/v1/sessions/jwks/{project_id}", lifespan=max_age, cooldown_duration=30
    )
    failures: list[str] = []
    kids_seen: set[str] = set()
    steps: list[str] = []
    deadline = time.monotonic() + 30
    after_retire = 0
    i = 0
    while after_retire < 10 and time.monotonic() < deadline:
        i += 1
        if i == 5:
            steps.append(signing_keys.rotate()["action"])
        elif i > 5 and "promoted" not in steps:
            try:  # a second run promotes once KEY_PUBLISH_SECONDS have passed
                steps.append(signing_keys.rotate()["action"])
            except RotationRefused:
                pass
        elif "promoted" in steps and "retired" not in steps:
            try:  # refused while a JWT signed by the old key may be live
                signing_keys.retire()
                steps.append("retired")
            except RotationRefused:
                pass
        elif "retired" in steps:
            after_retire += 1
        try:
            attested = sdk.sessions.attest(
                profile_id=pem_profile.profile_id,
                token=token_factory(),
                session_duration_minutes=30,
            )
            authenticated = sdk.sessions.authenticate(session_token=attested.session_token)
            for token in (attested.session_jwt, authenticated.session_jwt):
                key = verifier.get_signing_key_from_jwt(token)
                jwt.decode(token, key.key, algorithms=["RS256"], audience=project_id, issuer=issuer)
                kids_seen.add(key.key_id)
        except Exception as e:  # noqa: BLE001 - every failure is counted, none may happen
            failures.append(f"iteration {i}: {type(e).__name__}: {e}")
        time.sleep(0.05)
    assert failures == []
    assert steps == ["published", "promoted", "retired"]
    assert after_retire == 10
    assert len(kids_seen) == 2
    assert SigningKey.objects.filter(state="retired").count() == 1
