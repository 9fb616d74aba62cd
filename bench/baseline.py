"""The hand-written view trusted_auth replaces (issue 14's baseline): PyJWT + PyJWKClient,
``get_or_create`` and ``login()``. What a few lines in a project would do, nothing more: no
replay check, no audit, no throttle, no session JWT.

The issuer's JWKS is read by ``PyJWKClient`` from ``BENCH_BASELINE_JWKS_URL`` (served on
loopback by bench/run.py) and cached in process, as PyJWKClient does by default.
"""

from __future__ import annotations

import json
import os

import jwt
from django.contrib.auth import get_user_model, login
from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

ISSUER = "https://bench-issuer.invalid"
AUDIENCE = "bench"
_client: jwt.PyJWKClient | None = None


def _jwks_client() -> jwt.PyJWKClient:
    global _client
    if _client is None:
        _client = jwt.PyJWKClient(os.environ["BENCH_BASELINE_JWKS_URL"])
    return _client


@csrf_exempt
@require_POST
def baseline_attest(request: HttpRequest) -> JsonResponse:
    """Verify an external token and log its user in with a Django session."""
    try:
        token = json.loads(request.body)["token"]
        key = _jwks_client().get_signing_key_from_jwt(token)
        claims = jwt.decode(token, key.key, algorithms=["RS256"], audience=AUDIENCE, issuer=ISSUER)
    except (ValueError, KeyError, jwt.PyJWTError) as e:
        return JsonResponse({"error": type(e).__name__}, status=401)
    with transaction.atomic():
        user, _ = get_user_model().objects.get_or_create(
            username=claims["sub"], defaults={"email": claims["email"]}
        )
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    return JsonResponse({"user": user.pk, "session_key": request.session.session_key})
