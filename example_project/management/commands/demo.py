"""``manage.py demo``: the example project with a demo profile, ready to attest, on SQLite.

It migrates, makes (once) a demo RSA key pair under ``.demo/`` playing the part of "your own
signer", registers its public key as a PEM profile with JIT provisioning, creates an API secret,
mints a token for ``--email`` and prints the curl command that exchanges it for a session.
Then it serves the project on 127.0.0.1:8000 (``--no-server`` to skip).
``manage.py demo --token-only`` mints one more token for the existing demo profile.
"""

from __future__ import annotations

import base64
import json
import shlex
import time
import uuid
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from trusted_auth.conf import trusted_auth_settings
from trusted_auth.models import ProfilePublicKey, TrustedAuthTokenProfile
from trusted_auth.services.secrets import create_secret

DEMO_DIR = Path(settings.BASE_DIR) / ".demo"
DEMO_ISSUER = "https://demo-signer.example"
DEMO_AUDIENCE = "trusted-auth-demo"
DEMO_PROFILE_NAME = "Demo signer (bring your own key)"


def _demo_private_key() -> rsa.RSAPrivateKey:
    path = DEMO_DIR / "private_key.pem"
    if not path.exists():
        DEMO_DIR.mkdir(exist_ok=True)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        path.chmod(0o600)
    return serialization.load_pem_private_key(path.read_bytes(), password=None)


def _demo_profile(key: rsa.RSAPrivateKey) -> TrustedAuthTokenProfile:
    profile = TrustedAuthTokenProfile.objects.filter(name=DEMO_PROFILE_NAME).first()
    if profile is not None:
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
    public_pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    ProfilePublicKey.objects.create(profile=profile, public_key_pem=public_pem)
    return profile


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


class Command(BaseCommand):
    help = "Run the example project with a demo trusted-issuer profile (SQLite by default)."

    def add_arguments(self, parser):
        parser.add_argument("--email", default="ada.lovelace@example.com")
        parser.add_argument("--addrport", default="127.0.0.1:8000")
        parser.add_argument("--no-server", action="store_true", help="set up and print, then exit")
        parser.add_argument("--token-only", action="store_true", help="print one fresh token")

    def handle(self, *args, **options):
        key = _demo_private_key()
        if options["token_only"]:
            self.stdout.write(_mint(key, options["email"]))
            return
        call_command("migrate", verbosity=0, interactive=False)
        profile = _demo_profile(key)
        secret = create_secret("demo").clear_text
        token = _mint(key, options["email"])
        base = f"http://{options['addrport']}"
        basic = base64.b64encode(f"{trusted_auth_settings.PROJECT_ID}:{secret}".encode()).decode()
        body = json.dumps(
            {"profile_id": profile.profile_id, "token": token, "session_duration_minutes": 60}
        )
        self.stdout.write(self.style.SUCCESS("trusted_auth demo is set up."))
        self.stdout.write(f"  project_id : {trusted_auth_settings.PROJECT_ID}")
        self.stdout.write(f"  secret     : {secret}   (shown once)")
        self.stdout.write(f"  profile_id : {profile.profile_id}")
        self.stdout.write(f"  signer key : {DEMO_DIR / 'private_key.pem'}")
        self.stdout.write("\nExchange a freshly minted token (valid 5 minutes) for a session:\n")
        self.stdout.write(
            f"  curl -s {base}/v1/sessions/attest -H 'Authorization: Basic {basic}' "
            f"-H 'Content-Type: application/json' -d {shlex.quote(body)}\n"
        )
        self.stdout.write(
            f"Verify session JWTs against: {base}/v1/sessions/jwks/"
            f"{trusted_auth_settings.PROJECT_ID}"
        )
        self.stdout.write(
            "Mint another token: python manage.py demo --token-only --email you@example.com\n"
        )
        if options["no_server"]:
            return
        if not settings.DEBUG:
            raise CommandError("The demo server runs with DEBUG on only.")
        call_command("runserver", options["addrport"], use_reloader=False)
