"""``manage.py demo``: the example project over HTTPS with a demo profile, ready to attest.

It migrates, makes (once) a demo RSA key pair playing the part of "your own signer", registers
its public key as a PEM profile with JIT provisioning, creates an API secret, makes (once) a local
CA and a server certificate for 127.0.0.1, and prints ready-to-run snippets for curl, the
official Python SDK and the official Node SDK. Then it serves the project on
``https://127.0.0.1:8000`` (``--no-server`` to skip). ``manage.py demo --token-only`` mints one
more token for the demo profile (the snippets call it, so they keep working after the first
token's five minutes).

Why HTTPS: both official SDKs refuse a ``custom_base_url`` that is not https.

Why Gunicorn as the TLS server: it is a real server with TLS built in (``certfile`` /
``keyfile``), the one "Running at scale" deploys, and it keeps HTTP/1.1 connections alive as
the SDKs expect. ``wsgiref`` wrapped in ``ssl`` would add no dependency but is single-threaded,
speaks HTTP/1.0 and is documented as unfit for anything but trying things; ``runserver`` has no
TLS at all. It runs in-process (``gunicorn.app.base.BaseApplication``) with one worker and
threads, so the local-memory cache (replay markers) is one cache for every request.
"""

from __future__ import annotations

import json
import shlex
import socket
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.core.wsgi import get_wsgi_application
from django.db import connections

from example_project.demo_tls import ensure_certificates
from trusted_auth.conf import trusted_auth_settings
from trusted_auth.errors import Unauthorized
from trusted_auth.models import ApiSecret, ProfilePublicKey, TrustedAuthTokenProfile
from trusted_auth.sessions.secrets import authenticate_secret, create_secret, revoke_secret

DEFAULT_DEMO_DIR = Path(settings.BASE_DIR) / ".demo"
DEMO_ISSUER = "https://demo-signer.example"
DEMO_AUDIENCE = "trusted-auth-demo"
DEMO_PROFILE_NAME = "Demo signer (bring your own key)"
DEMO_SECRET_DESCRIPTION = "demo"
READY_LINE = "trusted_auth demo is serving"


def _demo_private_key(folder: Path) -> rsa.RSAPrivateKey:
    path = folder / "private_key.pem"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        path.touch(mode=0o600, exist_ok=True)
        path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    return serialization.load_pem_private_key(path.read_bytes(), password=None)


def _demo_profile(key: rsa.RSAPrivateKey) -> TrustedAuthTokenProfile:
    public_pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    profile = TrustedAuthTokenProfile.objects.filter(name=DEMO_PROFILE_NAME).first()
    if profile is not None:
        if not profile.pem_keys.filter(public_key_pem=public_pem).exists():
            # A new demo folder made a new signer key: trust it too.
            ProfilePublicKey.objects.create(profile=profile, public_key_pem=public_pem)
        return profile
    profile = TrustedAuthTokenProfile.objects.create(
        name=DEMO_PROFILE_NAME,
        issuer=DEMO_ISSUER,
        audience=DEMO_AUDIENCE,
        public_key_type=TrustedAuthTokenProfile.KeyType.PEM,
        can_jit_provision=True,
        attribute_mapping={
            "email": "email",
            "token_id": "jti",
            "external_user_id": "sub",
            "name": "name",
        },
    )
    ProfilePublicKey.objects.create(profile=profile, public_key_pem=public_pem)
    return profile


def _demo_secret(folder: Path) -> str:
    """The demo's API secret, kept in ``folder/api_secret`` (mode 0600) and reused while it is
    live in this database; otherwise a new one, and every other live demo secret is revoked,
    so runs never pile up live secrets."""
    path = folder / "api_secret"
    clear_text = path.read_text().strip() if path.exists() else ""
    try:
        if authenticate_secret(trusted_auth_settings.PROJECT_ID, clear_text).description == (
            DEMO_SECRET_DESCRIPTION
        ):
            return clear_text
    except Unauthorized:
        pass
    live = ApiSecret.objects.filter(description=DEMO_SECRET_DESCRIPTION, revoked_at__isnull=True)
    for old in live:
        revoke_secret(old.secret_id)
    created = create_secret(DEMO_SECRET_DESCRIPTION)
    path.touch(mode=0o600, exist_ok=True)
    path.write_text(created.clear_text + "\n")
    return created.clear_text


def _refuse_a_busy_port(addrport: str) -> None:
    """Fail before the demo creates anything when another process (a demo already running)
    listens on ``addrport``: Gunicorn would find out only after the snippets were printed."""
    host, _, port = addrport.rpartition(":")
    host = host.strip("[]")
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        socket.create_server((host, int(port)), family=family).close()
    except ValueError as e:
        raise CommandError(f"--addrport {addrport!r} is not HOST:PORT") from e
    except OSError as e:
        other = f"{host}:{int(port) + 1}" if ":" not in host else f"[{host}]:{int(port) + 1}"
        raise CommandError(
            f"{addrport} is not free ({e.strerror}): is a demo already running there? Stop it, "
            f"or run this one on another address: TRUSTED_AUTH_ISSUER=https://{other} "
            f"python manage.py demo --addrport {other}"
        ) from e


def _mint(key: rsa.RSAPrivateKey, email: str) -> str:
    now = int(time.time())
    return jwt.encode(
        {
            "iss": DEMO_ISSUER,
            "aud": DEMO_AUDIENCE,
            "sub": f"demo-{email}",
            "email": email,
            "name": email.split("@")[0].title(),
            "jti": str(uuid.uuid4()),
            "iat": now,
            "exp": now + 300,
        },
        key,
        algorithm="RS256",
    )


def _python_snippet(mint: str, ca: Path, base_url: str, secret: str, profile_id: str) -> str:
    project_id = trusted_auth_settings.PROJECT_ID
    python = shlex.quote(sys.executable)
    return f"""\
TOKEN=$({mint}) REQUESTS_CA_BUNDLE={shlex.quote(str(ca))} \\
SSL_CERT_FILE={shlex.quote(str(ca))} {python} - <<'EOF'
import os, stytch
client = stytch.Client(
    project_id={project_id!r},
    secret={secret!r},
    custom_base_url={base_url + "/"!r},
)
resp = client.sessions.attest(
    profile_id={profile_id!r}, token=os.environ["TOKEN"], session_duration_minutes=60
)
print("attested:", resp.session.session_id, resp.user.emails[0].email)
auth = client.sessions.authenticate(session_token=resp.session_token)
print("authenticated:", auth.session.session_id)
local = client.sessions.authenticate_jwt_local(session_jwt=resp.session_jwt)
print("verified locally:", local.session_id)
EOF"""


def _node_snippet(mint: str, ca: Path, base_url: str, secret: str, profile_id: str) -> str:
    config = json.dumps(
        {
            "project_id": trusted_auth_settings.PROJECT_ID,
            "secret": secret,
            "custom_base_url": base_url + "/",
        }
    )
    script = f"""\
const stytch = require("stytch");
const client = new stytch.Client({config});
(async () => {{
  const resp = await client.sessions.attest({{
    profile_id: {json.dumps(profile_id)}, token: process.env.TOKEN, session_duration_minutes: 60,
  }});
  console.log("attested:", resp.session.session_id, resp.user.emails[0].email);
  const auth = await client.sessions.authenticate({{session_token: resp.session_token}});
  console.log("authenticated:", auth.session.session_id);
  const local = await client.sessions.authenticateJwt({{session_jwt: resp.session_jwt}});
  console.log("verified:", local.session.session_id);
}})().catch((err) => {{ console.error(err); process.exit(1); }});"""
    return (
        f"TOKEN=$({mint}) NODE_EXTRA_CA_CERTS={shlex.quote(str(ca))} node -e {shlex.quote(script)}"
    )


def _serve(addrport: str, certificate: Path, key: Path) -> None:
    # Imported here and not at the top: gunicorn is in the `example` extra, and `--token-only`
    # and `--no-server` must work without it (and gunicorn does not run on Windows).
    from gunicorn.app.base import BaseApplication

    application = StaticFilesHandler(get_wsgi_application())  # the admin's CSS, as runserver

    class DemoServer(BaseApplication):
        def load_config(self) -> None:
            options: dict[str, Any] = {
                "bind": addrport,
                "workers": 1,
                "worker_class": "gthread",
                "threads": 4,
                "certfile": str(certificate),
                "keyfile": str(key),
                "accesslog": "-",
                "graceful_timeout": 5,
                # Gunicorn 25+ opens a control socket under ~/.gunicorn; the demo needs none.
                "control_socket_disable": True,
                "when_ready": lambda server: print(
                    f"{READY_LINE} on https://{addrport}/ (Ctrl-C stops it)", flush=True
                ),
            }
            for name, value in options.items():
                if name in self.cfg.settings:  # older Gunicorns lack the newer settings
                    self.cfg.set(name, value)

        def load(self) -> Any:
            return application

    connections.close_all()  # the worker is a fork: it must open its own database connection
    DemoServer().run()


class Command(BaseCommand):
    help = "Run the example project over HTTPS with a demo trusted-issuer profile (SQLite)."

    def add_arguments(self, parser):
        parser.add_argument("--email", default="ada.lovelace@example.com")
        parser.add_argument("--addrport", default="127.0.0.1:8000")
        parser.add_argument(
            "--dir",
            default=str(DEFAULT_DEMO_DIR),
            help="folder for the demo signer key and the local CA (default: .demo/)",
        )
        parser.add_argument("--no-server", action="store_true", help="set up and print, then exit")
        parser.add_argument("--token-only", action="store_true", help="print one fresh token")

    def handle(self, *args, **options):
        folder = Path(options["dir"]).resolve()
        if options["token_only"]:
            self.stdout.write(_mint(_demo_private_key(folder), options["email"]))
            return
        addrport = options["addrport"]
        base_url = f"https://{addrport}"
        if trusted_auth_settings.ISSUER != base_url:
            raise CommandError(
                f"TRUSTED_AUTH['ISSUER'] is {trusted_auth_settings.ISSUER!r} but the demo serves "
                f"{base_url}: the SDKs check that session JWTs carry their base URL as `iss`. "
                f"Run it as TRUSTED_AUTH_ISSUER={base_url} python manage.py demo "
                f"--addrport {addrport}"
            )
        if not settings.DEBUG and not options["no_server"]:
            raise CommandError("The demo server runs with DEBUG on only.")
        if not options["no_server"]:
            _refuse_a_busy_port(addrport)
        key = _demo_private_key(folder)
        call_command("migrate", verbosity=0, interactive=False)
        profile = _demo_profile(key)
        secret = _demo_secret(folder)
        tls = ensure_certificates(folder)

        manage = Path(settings.BASE_DIR) / "manage.py"
        mint = " ".join(
            shlex.quote(part)
            for part in (sys.executable, str(manage), "demo", "--token-only", "--dir", str(folder))
        )
        if options["email"] != "ada.lovelace@example.com":
            mint += f" --email {shlex.quote(options['email'])}"
        body = (
            f'{{"profile_id": "{profile.profile_id}", "token": "\'"$TOKEN"\'", '
            f'"session_duration_minutes": 60}}'
        )
        curl = (
            f"TOKEN=$({mint}) && curl -s --cacert {shlex.quote(str(tls.ca))} "
            f"{base_url}/v1/sessions/attest "
            f"-u {shlex.quote(f'{trusted_auth_settings.PROJECT_ID}:{secret}')} "
            f"-H 'Content-Type: application/json' -d '{body}'"
        )
        write = self.stdout.write
        write(self.style.SUCCESS("trusted_auth demo is set up."))
        write(f"  base URL   : {base_url}/   (admin: {base_url}/admin/)")
        write(f"  project_id : {trusted_auth_settings.PROJECT_ID}")
        write(f"  secret     : {secret}   (kept in {folder / 'api_secret'} for the next runs)")
        write(f"  profile_id : {profile.profile_id}")
        write(f"  demo CA    : {tls.ca}   (trust this file, and only for the demo)")
        write(f"  signer key : {folder / 'private_key.pem'}")
        write(
            "\nEach snippet mints a fresh token (valid 5 minutes) and exchanges it for a session."
        )
        write("\n== curl ==")
        write(curl)
        write("\n== Python SDK (pip install stytch; REQUESTS_CA_BUNDLE for requests, ")
        write("   SSL_CERT_FILE for the JWKS fetch of authenticate_jwt_local) ==")
        write(_python_snippet(mint, tls.ca, base_url, secret, profile.profile_id))
        write("\n== Node SDK (npm install stytch, then run this in that folder) ==")
        write(_node_snippet(mint, tls.ca, base_url, secret, profile.profile_id))
        write(
            f"\nVerify session JWTs against: {base_url}/v1/sessions/jwks/"
            f"{trusted_auth_settings.PROJECT_ID}\n"
        )
        self.stdout.flush()
        if options["no_server"]:
            return
        _serve(addrport, tls.certificate, tls.key)
