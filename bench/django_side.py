"""The parts of the benchmark that run inside Django, in a child process of ``bench/run.py``.

    python bench/django_side.py setup OUTDIR TOKENS SESSIONS LOWER_BOUND_TOKENS  # wrk's data
    python bench/django_side.py inprocess OUTDIR SECONDS  # in-process rates, JSON on stdout
    python bench/django_side.py costs OUTDIR              # SQL and cache calls of one request
    python bench/django_side.py profile OUTDIR SCENARIO N  # cProfile of N attests/authenticates

The database and cache come from the environment (``DATABASE_URL``, ``CACHE_URL``) exactly as
the Gunicorn workers see them; ``DJANGO_SETTINGS_MODULE`` is ``example_project.settings``.
"""

from __future__ import annotations

import base64
import cProfile
import json
import os
import pstats
import sys
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

import django  # noqa: E402

django.setup()

import jwt  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: E402
from django.core.cache import caches  # noqa: E402
from django.core.signals import request_finished, request_started  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client, RequestFactory  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from bench.baseline import create_lower_bound_table  # noqa: E402
from trusted_auth.attest import AttestRequest, attest  # noqa: E402
from trusted_auth.conf import trusted_auth_settings  # noqa: E402
from trusted_auth.contrib.rest_framework import BearerSessionAuthentication  # noqa: E402
from trusted_auth.internal import generations  # noqa: E402
from trusted_auth.issuers.profiles import get_profile  # noqa: E402
from trusted_auth.issuers.verification import verify_external_token  # noqa: E402
from trusted_auth.models import (  # noqa: E402
    ProfilePublicKey,
    Session,
    SigningKey,
    TrustedAuthTokenProfile,
)
from trusted_auth.sessions import session_jwt as session_jwt_service  # noqa: E402
from trusted_auth.sessions.lifecycle import subject_of  # noqa: E402
from trusted_auth.sessions.secrets import create_secret  # noqa: E402
from trusted_auth.sessions.session_jwt import issue_session_jwt, verify_session_jwt  # noqa: E402
from trusted_auth.sessions.signing_keys import current_signing_key  # noqa: E402

ISSUER = "https://bench-issuer.invalid"
AUDIENCE = "bench"
_signer: rsa.RSAPrivateKey | None = None


def _load_signer(pem: bytes) -> None:
    global _signer
    _signer = serialization.load_pem_private_key(pem, password=None)


USERS = 500  # token n speaks for user n % USERS: after the first USERS, returning users


def _mint(start_stop: tuple[int, int], population: str = "bench") -> list[str]:
    now = int(time.time())
    return [
        jwt.encode(
            {
                "iss": ISSUER,
                "aud": AUDIENCE,
                "sub": f"{population}-{n % USERS}",
                "email": f"{population}-{n % USERS}@example.com",
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


def mint_tokens(pem: bytes, count: int, population: str) -> list[str]:
    """External tokens, as an IdP would sign them (RS256, 2048 bits), on every core."""
    workers = os.cpu_count() or 1
    step = max(1, -(-count // workers))
    chunks = [(n, min(count, n + step)) for n in range(0, count, step)]
    with ProcessPoolExecutor(workers, initializer=_load_signer, initargs=(pem,)) as pool:
        minted = pool.map(partial(_mint, population=population), chunks)
        return [token for chunk in minted for token in chunk]


def setup(outdir: Path, tokens: int, sessions: int, lower_bound_tokens: int) -> None:
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
    create_lower_bound_table()
    public_jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(signer.public_key()))
    public_jwk.update({"kid": "bench", "alg": "RS256", "use": "sig"})
    (outdir / "idp_jwks.json").write_text(json.dumps({"keys": [public_jwk]}))
    secret = create_secret("bench").clear_text
    _load_signer(pem)
    session_tokens, session_jwt = [], ""
    for token in _mint((0, sessions)):
        result = attest(
            AttestRequest(profile_id=profile.profile_id, token=token, session_duration_minutes=600)
        )
        session_tokens.append(result.session_token)
        session_jwt = result.session_jwt
    # Two populations: the baseline's users must not share emails with ours, or its Django users
    # (no identity, no link) would make our attests refuse them, correctly, as
    # identity_link_required.
    for scenario, population, count in (
        ("attest", "bench", tokens),
        ("baseline", "baseline", tokens),
        ("lower_bound", "lower-bound", lower_bound_tokens),  # makes no users: any population
    ):
        minted = mint_tokens(pem, count, population)
        (outdir / f"{scenario}_tokens.txt").write_text("\n".join(minted) + "\n")
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

    def bearer_in_its_own_request():
        # What a resource server pays per request: the generation read, then local checks.
        request_started.send(sender=None)
        try:
            authentication.authenticate(bearer)
        finally:
            request_finished.send(sender=None)

    def bearer_first_use():
        session_jwt_service._verified.clear()
        authentication.authenticate(bearer)

    def generation_read():
        request_started.send(sender=None)
        try:
            generations.current()
        finally:
            request_finished.send(sender=None)

    authentication.authenticate(bearer)  # fills the keyring outside any transaction
    request_started.send(sender=None)  # the memoised rows below run inside one request
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
        # BearerSessionAuthentication once the request's generation read is done (memoised):
        # the same JWT again, as a client sends it with each request until it expires.
        "bearer_session_jwt": rate(seconds, lambda: authentication.authenticate(bearer)),
        # The same, for a JWT this process has not verified yet (its first request here).
        "bearer_session_jwt_first_use": rate(seconds, bearer_first_use),
        # The one verifier as authenticate uses it (same keyring, no query of its own).
        "verify_session_jwt": rate(
            seconds, lambda: verify_session_jwt(session_jwt, allow_expired=True)
        ),
        "issue_session_jwt": rate(seconds, lambda: issue_session_jwt(session, subject_of(session))),
    }
    request_finished.send(sender=None)
    # Each call its own request: one read of the generation counters included.
    results["bearer_session_jwt_per_request"] = rate(seconds, bearer_in_its_own_request)
    results["generation_read"] = rate(seconds, generation_read)
    print(json.dumps(results))


class CountingCache:
    """Counts calls to the cache API, and for Redis the round trips on the socket (a pipeline
    is one), while installed."""

    METHODS = ("get", "set", "add", "incr", "decr", "delete", "get_many", "set_many", "touch")

    def __init__(self, cache) -> None:
        self.cache, self.calls, self.round_trips, self._saved = cache, 0, 0, {}

    def __enter__(self):
        for name in self.METHODS:
            original = getattr(self.cache, name)
            self._saved[name] = original

            def counted(*args, __original=original, **kwargs):
                self.calls += 1
                return __original(*args, **kwargs)

            setattr(self.cache, name, counted)
        try:
            import redis.connection

            self._connection = redis.connection.Connection
            self._send = self._connection.send_packed_command

            def send(conn, *args, __send=self._send, **kwargs):
                self.round_trips += 1
                return __send(conn, *args, **kwargs)

            self._connection.send_packed_command = send
        except ImportError:
            self._connection = None
        return self

    def __exit__(self, *exc) -> None:
        for name in self._saved:
            delattr(self.cache, name)
        if self._connection is not None:
            self._connection.send_packed_command = self._send


def _api_calls(outdir: Path, tokens: int):
    """One attest (of a returning user, ``tokens`` at most) and one authenticate through the
    whole stack, with Django's test client: middleware, DRF, signals."""
    facts = json.loads((outdir / "setup.json").read_text())
    _load_signer(facts["signer_pem"].encode())
    client = Client(HTTP_HOST="127.0.0.1")
    auth = "Basic " + base64.b64encode(f"{facts['project_id']}:{facts['secret']}".encode()).decode()
    session_token = (outdir / "session_tokens.txt").read_text().split()[0]
    # Token n speaks for user n % USERS: these are users the set-up's sessions signed in.
    start = 4 * 10**9
    minted = iter(
        token
        for n in range(tokens)
        for token in _mint((start + USERS * n + n % 100, start + USERS * n + n % 100 + 1))
    )

    def attest_call():
        return client.post(
            "/v1/sessions/attest",
            {
                "profile_id": facts["profile_id"],
                "token": next(minted),
                "session_duration_minutes": 60,
            },
            content_type="application/json",
            HTTP_AUTHORIZATION=auth,
        )

    def authenticate_call():
        return client.post(
            "/v1/sessions/authenticate",
            {"session_token": session_token},
            content_type="application/json",
            HTTP_AUTHORIZATION=auth,
        )

    return {"attest": attest_call, "authenticate": authenticate_call}


def profile(outdir: Path, scenario: str, calls: int) -> None:
    """cProfile of ``calls`` requests of one scenario with the process's caches warm: where a
    request's time goes, by cumulative time (the profiler's overhead included)."""
    call = _api_calls(outdir, calls + 5)[scenario]
    for _ in range(5):
        assert call().status_code == 200
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(calls):
        call()
    profiler.disable()
    pstats.Stats(profiler, stream=sys.stdout).sort_stats("cumulative").print_stats(45)


def costs(outdir: Path) -> None:
    """SQL statements and cache calls of one attest and one authenticate through the whole
    stack (Django's test client: middleware, DRF, signals), with this process's caches warm.
    Each is measured three times and the median run kept: on a cache other than Redis a
    throttle's window opening costs an ``add`` after a missed ``incr``, so a run that happens
    to open both windows counts two calls more."""
    calls = _api_calls(outdir, 4)
    calls["attest"]().json()  # warm: secret, keyring, profile
    calls["authenticate"]().json()
    results = {}
    for name, call in calls.items():
        runs = sorted(
            (_measured(call) for _ in range(3)),
            key=lambda run: (run["cache_calls"], run["redis_round_trips"], run["sql"]),
        )
        results[name] = runs[1]
    print(json.dumps(results))


def _measured(call) -> dict:
    """The SQL statements, commits and cache calls of one ``call()``."""
    cache = caches[trusted_auth_settings.CACHE_ALIAS]
    autocommitted: list[str] = []

    def watch(execute, sql, params, many, context):
        # A write outside a transaction is a commit of its own.
        verb = sql.lstrip().split(None, 1)[0].upper()
        if connection.get_autocommit() and verb not in ("SELECT", "BEGIN"):
            autocommitted.append(sql)
        return execute(sql, params, many, context)

    with (
        CaptureQueriesContext(connection) as queries,
        CountingCache(cache) as counted,
        connection.execute_wrapper(watch),
    ):
        response = call()
    # SQLite logs its BEGIN; PostgreSQL opens transactions implicitly: count neither.
    statements = [q["sql"] for q in queries.captured_queries if not q["sql"].startswith("BEGIN")]
    return {
        "status": response.status_code,
        "sql": len(statements),
        "commits": sum(1 for sql in statements if sql == "COMMIT") + len(autocommitted),
        "cache_calls": counted.calls,
        "redis_round_trips": counted.round_trips,
        "statements": [sql[:90] for sql in statements],
    }


if __name__ == "__main__":
    command, outdir = sys.argv[1], Path(sys.argv[2])
    if command == "setup":
        setup(outdir, int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
    elif command == "inprocess":
        inprocess(outdir, float(sys.argv[3]))
    elif command == "costs":
        costs(outdir)
    elif command == "profile":
        profile(outdir, sys.argv[3], int(sys.argv[4]))
    else:
        raise SystemExit(f"unknown command {command!r}")
