"""The example project under ASGI: uvicorn in a child process, over TLS with the test CA.

One server for the module, on a deployment of its own (``tests/deployment.py``: a SQLite file,
prepared by the CLI in one child process). Through it: attest and authenticate with the official
SDK, and the browser flow with its cookie, logged out once its trusted session is revoked.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
import requests
import stytch

from .deployment import PROJECT_ID, Deployment
from .gunicorn_server import REPOSITORY, free_port
from .issuers import AUDIENCE, ISSUER, default_claims

# One child process for the whole set-up (each ``manage.py`` would pay Django's start again):
# migrate, an API secret and a JIT profile for the test signer, through the CLI's commands.
PREPARE = """
import io, json, sys
import django
django.setup()
from django.core.management import call_command

def run(*args):
    out = io.StringIO()
    call_command(*args, stdout=out)
    return json.loads(out.getvalue())

call_command("migrate", verbosity=0)
secret = run("trusted_auth", "secret", "create")["secret"]
profile = run(
    "trusted_auth", "profile", "create", "--name", "Test issuer", "--issuer", sys.argv[1],
    "--audience", sys.argv[2], "--map", "email=email", "token_id=jti", "--jit",
    "--pem-file", sys.argv[3],
)
print(json.dumps({"secret": secret, "profile_id": profile["profile_id"]}))
"""


class UvicornServer:
    """``uvicorn example_project.asgi:application`` over HTTPS on 127.0.0.1."""

    def __init__(self, directory: Path, tls_ca) -> None:
        self.port = free_port()
        self.url = f"https://127.0.0.1:{self.port}"
        self.log_path = directory / "uvicorn.log"
        self.cert_path, self.key_path = directory / "server.pem", directory / "server.key"
        certificate = tls_ca.issue_cert("127.0.0.1", "localhost")
        certificate.cert_chain_pems[0].write_to_path(str(self.cert_path))
        certificate.private_key_pem.write_to_path(str(self.key_path))
        self.process: subprocess.Popen | None = None

    def start(self, env: dict[str, str]) -> None:
        """Start booting; ``wait_ready`` once the database is prepared."""
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "example_project.asgi:application",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--ssl-certfile",
                    str(self.cert_path),
                    "--ssl-keyfile",
                    str(self.key_path),
                    "--lifespan",
                    "off",  # Django's ASGI handler speaks http only
                    "--no-access-log",
                    "--timeout-graceful-shutdown",
                    "2",
                ],
                cwd=REPOSITORY,
                env={**os.environ, **env},
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def wait_ready(self, ca_bundle: str, timeout: float = 60.0) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        with requests.Session() as http:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"uvicorn exited early:\n{self.log()}")
                try:
                    ready = http.get(
                        f"{self.url}/v1/sessions/jwks/{PROJECT_ID}", verify=ca_bundle, timeout=10
                    )
                    if ready.status_code == 200:
                        return
                except requests.RequestException:  # not listening yet
                    pass
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"uvicorn did not answer within {timeout} s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


class ASGIDeployment:
    """The running server, its API secret and a JIT profile trusting the test ``signer``."""

    def __init__(self, url: str, ca_bundle: str, secret: str, profile_id: str) -> None:
        self.url, self.ca_bundle, self.secret, self.profile_id = url, ca_bundle, secret, profile_id

    def http(self) -> requests.Session:
        session = requests.Session()
        session.verify = self.ca_bundle
        session.trust_env = False  # a developer's proxy must not intercept loopback
        return session

    def sdk(self, http: requests.Session) -> stytch.Client:
        return stytch.Client(
            PROJECT_ID, self.secret, custom_base_url=f"{self.url}/", sync_session=http
        )


@pytest.fixture(scope="module")
def asgi(tmp_path_factory, ca_bundle, tls_ca, signer) -> Iterator[ASGIDeployment]:
    directory = tmp_path_factory.mktemp("asgi")
    env = Deployment(directory, ca_bundle=ca_bundle).env
    server = UvicornServer(directory, tls_ca)
    # The session JWTs' iss is this server, as a deployment sets TRUSTED_AUTH_ISSUER.
    env["TRUSTED_AUTH_ISSUER"] = server.url
    server.start(env)  # it boots while the database is prepared
    try:
        pem_path = directory / "issuer.pem"
        pem_path.write_text(signer.public_pem)
        prepared = subprocess.run(
            [sys.executable, "-c", PREPARE, ISSUER, AUDIENCE, str(pem_path)],
            capture_output=True,
            text=True,
            cwd=REPOSITORY,
            env={**os.environ, **env},
            timeout=120,
        )
        if prepared.returncode != 0:
            raise RuntimeError(f"preparing the database failed:\n{prepared.stderr[-3000:]}")
        made = json.loads(prepared.stdout)
        server.wait_ready(ca_bundle)
        yield ASGIDeployment(server.url, ca_bundle, made["secret"], made["profile_id"])
    finally:
        server.stop()


def test_attest_and_authenticate_through_the_sdk(asgi, signer):
    with asgi.http() as http:
        sdk = asgi.sdk(http)
        attested = sdk.sessions.attest(
            profile_id=asgi.profile_id,
            token=signer.sign(default_claims(email="grace@example.com")),
            session_duration_minutes=60,
        )
        by_token = sdk.sessions.authenticate(session_token=attested.session_token)
        by_jwt = sdk.sessions.authenticate(session_jwt=attested.session_jwt)
        answer = http.post(
            f"{asgi.url}/v1/sessions/authenticate",
            json={"session_token": attested.session_token},
            auth=(PROJECT_ID, asgi.secret),
        )

    assert attested.user.emails[0].email == "grace@example.com"
    assert by_token.session.session_id == by_jwt.session.session_id == attested.session.session_id
    assert jwt.decode(by_jwt.session_jwt, options={"verify_signature": False})["iss"] == asgi.url
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"


def test_the_browser_flow_and_logout_on_revoke(asgi, signer):
    with asgi.http() as browser, asgi.http() as server_side:
        assert browser.get(f"{asgi.url}/example/signin").status_code == 200
        exchanged = browser.post(
            f"{asgi.url}/browser/exchange",
            json={
                "profile_id": asgi.profile_id,
                "token": signer.sign(default_claims(email="lin@example.com")),
            },
            # An HTTPS POST passes Django's CSRF check with the token and a same-origin Origin.
            headers={"X-CSRFToken": browser.cookies["csrftoken"], "Origin": asgi.url},
        )
        assert exchanged.status_code == 200, exchanged.text
        signed_in = browser.get(f"{asgi.url}/example/me", allow_redirects=False)

        asgi.sdk(server_side).sessions.revoke(session_id=exchanged.json()["session_id"])
        after_revoke = browser.get(f"{asgi.url}/example/me", allow_redirects=False)

    assert signed_in.status_code == 200 and signed_in.json()["email"] == "lin@example.com"
    assert after_revoke.status_code == 302
    assert after_revoke.headers["Location"].startswith("/example/signin")
