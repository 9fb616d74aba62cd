"""The parts of the benchmark that run inside Django, in a child process of ``bench/run.py``.

    python bench/django_side.py setup OUTDIR TOKENS SESSIONS   # data for the HTTP scenarios
    python bench/django_side.py inprocess SECONDS              # in-process rates, JSON on stdout

The database and cache come from the environment (``DATABASE_URL``, ``CACHE_URL``) exactly as
the Gunicorn workers see them; ``DJANGO_SETTINGS_MODULE`` is ``example_project.settings``.
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example_project.settings")

import django  # noqa: E402

django.setup()

import jwt  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: E402
from django.test import RequestFactory  # noqa: E402

from trusted_auth.conf import trusted_auth_settings  # noqa: E402
from trusted_auth.contrib.rest_framework import BearerSessionAuthentication  # noqa: E402
from trusted_auth.models import (  # noqa: E402
    ProfilePublicKey,
    Session,
    SigningKey,
    TrustedAuthTokenProfile,
)
from trusted_auth.services.attest import AttestRequest, attest  # noqa: E402
from trusted_auth.services.lifecycle import subject_of  # noqa: E402
from trusted_auth.services.profiles import get_profile  # noqa: E402
from trusted_auth.services.secrets import create_secret  # noqa: E402
from trusted_auth.services.session_jwt import decode_session_jwt, issue_session_jwt  # noqa: E402
from trusted_auth.services.signing_keys import current_signing_key  # noqa: E402
from trusted_auth.services.verification import verify_external_token  # noqa: E402

ISSUER = "https://bench-issuer.invalid"
AUDIENCE = "bench"
_signer: rsa.RSAPrivateKey | None = None


def _load_signer(pem: bytes) -> None:
    global _signer
    _signer = serialization.load_pem_private_key(pem, password=None)


def _mint(start_stop: tuple[int, int]) -> list[str]:
    now = int(time.time())
    return [
        jwt.encode(
            {
                "iss": ISSUER,
                "aud": AUDIENCE,
                "sub": f"bench-{n}",
                "email": f"bench-{n % 500}@example.com",
                "jti": str(uuid.uuid4()),
                "iat": now,
                "exp": now + 3600,
            },
            _signer,
            algorithm="RS256",
            headers={"kid": "bench"},
        )
        for n in range(*start_stop)
    ]


def mint_tokens(pem: bytes, count: int) -> list[str]:
    """External tokens, as an IdP would sign them (RS256, 2048 bits), on every core."""
    workers = os.cpu_count() or 1
    step = max(1, -(-count // workers))
    chunks = [(n, min(count, n + step)) for n in range(0, count, step)]
    with ProcessPoolExecutor(workers, initializer=_load_signer, initargs=(pem,)) as pool:
        return [token for chunk in pool.map(_mint, chunks) for token in chunk]


def setup(outdir: Path, tokens: int, sessions: int) -> None:
    signer = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = signer.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public_pem = (
        signer.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    profile = TrustedAuthTokenProfile.objects.create(
        name="Bench signer",
        issuer=ISSUER,
        audience=AUDIENCE,
        public_key_type=TrustedAuthTokenProfile.KeyType.PEM,
        can_jit_provision=True,
        attribute_mapping={"email": "email", "token_id": "jti"},
    )
    ProfilePublicKey.objects.create(profile=profile, public_key_pem=public_pem)
    current_signing_key()  # generating the signing key is not part of any measured request
    secret = create_secret("bench").clear_text
    _load_signer(pem)
    session_tokens, session_jwt = [], ""
    for token in _mint((0, sessions)):
        result = attest(
            AttestRequest(profile_id=profile.profile_id, token=token, session_duration_minutes=600)
        )
        session_tokens.append(result.session_token)
        session_jwt = result.session_jwt
    (outdir / "attest_tokens.txt").write_text("\n".join(mint_tokens(pem, tokens)) + "\n")
    (outdir / "session_tokens.txt").write_text("\n".join(session_tokens) + "\n")
    (outdir / "setup.json").write_text(
        json.dumps(
            {
                "project_id": trusted_auth_settings.PROJECT_ID,
                "secret": secret,
                "profile_id": profile.profile_id,
                "session_jwt": session_jwt,
                "signer_pem": pem.decode(),
                "signing_key_size": current_signing_key().key_size,
            }
        )
    )


def rate(seconds: float, work) -> float:
    """Calls per second of ``work()`` over about ``seconds`` of wall time."""
    work()
    calls, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        for _ in range(20):
            work()
        calls += 20
    return calls / elapsed


def inprocess(outdir: Path, seconds: float) -> None:
    facts = json.loads((outdir / "setup.json").read_text())
    _load_signer(facts["signer_pem"].encode())
    external = _mint((10**9, 10**9 + 1))[0]
    public = _signer.public_key()
    profile = get_profile(facts["profile_id"])
    signing_key = rsa.generate_private_key(
        public_exponent=65537, key_size=facts["signing_key_size"]
    )
    session = Session.objects.select_related("user__trusted_auth_identity").first()
    session_jwt = issue_session_jwt(session, subject_of(session))
    claims = jwt.decode(session_jwt, options={"verify_signature": False})
    signing_public = jwt.PyJWK(
        SigningKey.objects.get(kid=jwt.get_unverified_header(session_jwt)["kid"]).public_jwk,
        algorithm="RS256",
    )
    bearer = RequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {session_jwt}")
    authentication = BearerSessionAuthentication()
    results = {
        "raw_decode_rs256_2048": rate(
            seconds,
            lambda: jwt.decode(
                external, public, algorithms=["RS256"], audience=AUDIENCE, issuer=ISSUER
            ),
        ),
        "raw_sign_rs256_2048": rate(
            seconds, lambda: jwt.encode({"sub": "x"}, _signer, algorithm="RS256")
        ),
        f"raw_sign_rs256_{facts['signing_key_size']}": rate(
            seconds, lambda: jwt.encode(claims, signing_key, algorithm="RS256")
        ),
        "verify_external_token": rate(
            seconds, lambda: verify_external_token(profile, external, dry_run=True)
        ),
        # The same decode on our session JWT (longer token, RSA-3072 key by default): the
        # floor for the two rows below.
        "raw_decode_session_jwt": rate(
            seconds,
            lambda: jwt.decode(
                session_jwt,
                signing_public,
                algorithms=["RS256"],
                audience=claims["aud"],
                issuer=claims["iss"],
            ),
        ),
        # What a resource server does per request (BearerSessionAuthentication, no database).
        "bearer_session_jwt": rate(seconds, lambda: authentication.authenticate(bearer)),
        # What POST /v1/sessions/authenticate with a session_jwt does first (reads the key row).
        "decode_session_jwt": rate(
            seconds, lambda: decode_session_jwt(session_jwt, allow_expired=True)
        ),
        "issue_session_jwt": rate(seconds, lambda: issue_session_jwt(session, subject_of(session))),
    }
    print(json.dumps(results))


if __name__ == "__main__":
    command, outdir = sys.argv[1], Path(sys.argv[2])
    if command == "setup":
        setup(outdir, int(sys.argv[3]), int(sys.argv[4]))
    elif command == "inprocess":
        inprocess(outdir, float(sys.argv[3]))
    else:
        raise SystemExit(f"unknown command {command!r}")
