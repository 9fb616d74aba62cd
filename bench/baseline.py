"""The benchmark's two reference views, beside the product under test.

``baseline_attest`` is the hand-written view trusted_auth replaces (issue 14's baseline): PyJWT +
PyJWKClient, ``get_or_create`` and ``login()``. What a few lines in a project would do, nothing
more: no replay check, no audit, no throttle, no session JWT.

``lower_bound_attest`` is the least work any attest that keeps issue 14's contract must do, and
nothing else: verify the token (PyJWT), record it as used in one durable, unique-keyed INSERT
and its COMMIT, sign a session JWT with an RSA key of the size ours use (RS256), answer JSON. No
API secret, throttle, user, session row, audit event or log line. It is a ruler, not a product:
it tells how much of an attest's cost is the contract's and how much is ours.

The issuer's JWKS is read by ``PyJWKClient`` from ``BENCH_BASELINE_JWKS_URL`` (served on
loopback by bench/run.py) and cached in process, as PyJWKClient does by default.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import uuid
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from django.contrib.auth import get_user_model, login
from django.db import IntegrityError, connection, transaction
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

ISSUER = "https://bench-issuer.invalid"
AUDIENCE = "bench"
LOWER_BOUND_TABLE = "bench_lower_bound"
_client: jwt.PyJWKClient | None = None
_signer: rsa.RSAPrivateKey | None = None


def _jwks_client() -> jwt.PyJWKClient:
    global _client
    if _client is None:
        _client = jwt.PyJWKClient(os.environ["BENCH_BASELINE_JWKS_URL"])
    return _client


# What a malformed body or a token that does not verify raises (the views answer 401).
_REFUSED = (ValueError, KeyError, jwt.PyJWTError)


def _verified_claims(request: HttpRequest) -> dict[str, Any]:
    """The claims of the body's ``token``, verified as a few lines of PyJWT would: the key from
    the issuer's JWKS (``PyJWKClient``), then ``jwt.decode``. Raises one of ``_REFUSED``."""
    token = json.loads(request.body)["token"]
    key = _jwks_client().get_signing_key_from_jwt(token)
    return jwt.decode(token, key.key, algorithms=["RS256"], audience=AUDIENCE, issuer=ISSUER)


@csrf_exempt
@require_POST
def baseline_attest(request: HttpRequest) -> JsonResponse:
    """Verify an external token and log its user in with a Django session."""
    try:
        claims = _verified_claims(request)
    except _REFUSED as e:
        return JsonResponse({"error": type(e).__name__}, status=401)
    with transaction.atomic():
        user, _ = get_user_model().objects.get_or_create(
            username=claims["sub"], defaults={"email": claims["email"]}
        )
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    return JsonResponse({"user": user.pk, "session_key": request.session.session_key})


def _session_signer() -> rsa.RSAPrivateKey:
    global _signer
    if _signer is None:
        size = int(os.environ.get("TRUSTED_AUTH_SIGNING_KEY_SIZE", "2048"))
        _signer = rsa.generate_private_key(public_exponent=65537, key_size=size)
    return _signer


def create_lower_bound_table() -> None:
    """The lower bound's one table: a unique key per used token (``django_side.py setup``)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE {LOWER_BOUND_TABLE} "
            "(replay_key varchar(64) NOT NULL PRIMARY KEY, expires_at bigint NOT NULL)"
        )


@csrf_exempt
@require_POST
def lower_bound_attest(request: HttpRequest) -> JsonResponse:
    """Verify an external token, mark it used, sign a session JWT: the contract's floor."""
    try:
        claims = _verified_claims(request)
    except _REFUSED as e:
        return JsonResponse({"error": type(e).__name__}, status=401)
    replay_key = hashlib.sha256(f"{ISSUER}\0{claims['jti']}".encode()).hexdigest()
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {LOWER_BOUND_TABLE} (replay_key, expires_at) VALUES (%s, %s)",
                [replay_key, claims["exp"]],
            )
    except IntegrityError:
        return JsonResponse({"error": "replayed"}, status=401)
    now = int(time.time())
    session_jwt = jwt.encode(
        {
            "iss": "bench",
            "aud": "bench",
            "sub": claims["sub"],
            "iat": now,
            "nbf": now,
            "exp": now + 300,
            "jti": str(uuid.uuid4()),
        },
        _session_signer(),
        algorithm="RS256",
        headers={"kid": "bench-session"},
    )
    return JsonResponse({"session_jwt": session_jwt})
