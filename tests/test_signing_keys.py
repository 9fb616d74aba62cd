import jwt
import pytest
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives.asymmetric import rsa

from trusted_auth.internal.encryption import derive_fernet_key
from trusted_auth.models import SigningKey
from trusted_auth.sessions.signing_keys import current_signing_key, private_key, published_keys

pytestmark = pytest.mark.django_db


def test_first_need_creates_one_current_key_published_in_jwks():
    assert SigningKey.objects.count() == 0
    key = current_signing_key()
    assert current_signing_key().pk == key.pk
    assert SigningKey.objects.filter(state="current").count() == 1
    assert [k["kid"] for k in published_keys()] == [key.kid]
    assert published_keys()[0].keys() >= {"kty", "n", "e", "kid", "alg", "use"}
    assert "d" not in published_keys()[0]


def test_private_key_is_encrypted_at_rest_with_the_secret_key_derived_kek(settings):
    key = current_signing_key()
    stored = bytes(key.private_key_encrypted)
    assert b"PRIVATE KEY" not in stored
    plain = Fernet(derive_fernet_key(settings.SECRET_KEY)).decrypt(stored)
    assert plain.startswith(b"-----BEGIN PRIVATE KEY-----")
    assert isinstance(private_key(key), rsa.RSAPrivateKey)


def test_configured_kek_is_used_and_a_wrong_one_cannot_decrypt(settings):
    kek = Fernet.generate_key().decode()
    settings.TRUSTED_AUTH = {**settings.TRUSTED_AUTH, "KEY_ENCRYPTION_KEY": kek}
    key = current_signing_key()
    Fernet(kek.encode()).decrypt(bytes(key.private_key_encrypted))
    with pytest.raises(InvalidToken):
        Fernet(derive_fernet_key(settings.SECRET_KEY)).decrypt(bytes(key.private_key_encrypted))


def test_jwks_endpoint_is_public_and_verifies_our_session_keys(client, settings):
    project_id = settings.TRUSTED_AUTH["PROJECT_ID"]
    response = client.get(f"/v1/sessions/jwks/{project_id}")
    assert response.status_code == 200
    assert response["Cache-Control"].startswith("public, max-age=")
    body = response.json()
    assert body["status_code"] == 200 and body["request_id"]
    key = current_signing_key()
    token = jwt.encode({"sub": "x"}, private_key(key), algorithm="RS256", headers={"kid": key.kid})
    public = jwt.PyJWKSet.from_dict({"keys": body["keys"]})[key.kid]
    assert jwt.decode(token, public, algorithms=["RS256"])["sub"] == "x"


def test_jwks_for_another_project_is_404(client):
    response = client.get("/v1/sessions/jwks/project-test-other")
    assert response.status_code == 404
    assert response.json()["error_type"] == "project_not_found"
