"""Signing keys stay usable across a ``SECRET_KEY`` rotation (issue 26 item 7).

The key-encryption key (KEK) is ``KEY_ENCRYPTION_KEY`` or, unset, derived from ``SECRET_KEY``.
Django's documented rotation moves the old ``SECRET_KEY`` to ``SECRET_KEY_FALLBACKS``; an
explicit KEK rotates the same way through ``KEY_ENCRYPTION_KEY_FALLBACKS``. New keys are always
encrypted under the current KEK; ``keys rewrap`` moves the stored ones to it, after which the
fallback can go. Checked through the API as a client sees it, and in fresh processes.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap
from io import StringIO
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.core.checks import Error, Warning
from django.core.management import call_command
from django.core.management.base import CommandError

from trusted_auth.checks import check_deploy_settings, check_settings
from trusted_auth.models import AuditEvent, SigningKey
from trusted_auth.sessions import signing_keys

from .test_attest_rejections import post_attest

OLD = "tests-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz"  # tests/settings.py
NEW = "tests-only-rotated-secret-key-abcdefghijklmnopqrstuvwxyz-0123"
REPO_ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.django_db


def cli(*args: str):
    out = StringIO()
    call_command("trusted_auth", *args, stdout=out, stderr=StringIO())
    return json.loads(out.getvalue())


def kek(settings, key: str = "", fallbacks: list[str] | None = None) -> None:
    settings.TRUSTED_AUTH = {
        **settings.TRUSTED_AUTH,
        "KEY_ENCRYPTION_KEY": key,
        "KEY_ENCRYPTION_KEY_FALLBACKS": fallbacks or [],
    }


def attests(api, pem_profile, token_factory) -> int:
    """Status of one attest that starts a session (so it signs a session JWT)."""
    response = post_attest(api, pem_profile.profile_id, token_factory(), session_duration_minutes=5)
    return response.status_code


def test_attest_survives_a_secret_key_rotation(api, pem_profile, token_factory, settings, caplog):
    assert attests(api, pem_profile, token_factory) == 200
    signing_keys.rotate()  # a published next key: every stored key is rewrapped, not just one

    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = NEW, [OLD]
    with caplog.at_level(logging.WARNING, logger="trusted_auth.keys"):
        assert attests(api, pem_profile, token_factory) == 200
    assert "keys rewrap" in caplog.text

    keys = list(SigningKey.objects.order_by("created_at").values_list("kid", flat=True))
    assert cli("keys", "rewrap") == {"action": "rewrapped", "kids": keys, "already_current": []}
    assert cli("keys", "rewrap") == {"action": "rewrapped", "kids": [], "already_current": keys}

    settings.SECRET_KEY_FALLBACKS = []
    assert attests(api, pem_profile, token_factory) == 200


def test_no_key_that_decrypts_is_a_503_with_the_fix_in_the_log(
    api, pem_profile, token_factory, settings, caplog
):
    assert attests(api, pem_profile, token_factory) == 200
    settings.SECRET_KEY = NEW  # rotated without SECRET_KEY_FALLBACKS
    with caplog.at_level(logging.ERROR, logger="trusted_auth.keys"):
        response = post_attest(
            api, pem_profile.profile_id, token_factory(), session_duration_minutes=5
        )
    body = response.json()
    assert (response.status_code, body["error_type"]) == (503, "service_unavailable"), body
    assert response["Retry-After"] == "5"
    assert "SECRET_KEY_FALLBACKS" in caplog.text and "keys rewrap" in caplog.text
    assert AuditEvent.objects.order_by("-pk").first().error_type == "service_unavailable"
    # Public keys need no decryption: the JWKS still serves them to verify live session JWTs.
    assert api.get(f"/v1/sessions/jwks/{settings.TRUSTED_AUTH['PROJECT_ID']}").status_code == 200

    with pytest.raises(CommandError, match="SECRET_KEY_FALLBACKS"):
        cli("keys", "rewrap")
    settings.SECRET_KEY_FALLBACKS = [OLD]
    assert attests(api, pem_profile, token_factory) == 200


def test_an_explicit_kek_rotates_through_its_own_fallbacks(
    api, pem_profile, token_factory, settings
):
    first, second = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    kek(settings, first)
    assert attests(api, pem_profile, token_factory) == 200
    kek(settings, second, fallbacks=[first])
    assert attests(api, pem_profile, token_factory) == 200
    assert cli("keys", "rewrap")["kids"] == [SigningKey.objects.get().kid]
    kek(settings, second)
    assert attests(api, pem_profile, token_factory) == 200
    # SECRET_KEY no longer matters to the signing keys.
    settings.SECRET_KEY = NEW
    assert attests(api, pem_profile, token_factory) == 200


def test_setting_a_kek_for_the_first_time_keeps_the_stored_keys(
    api, pem_profile, token_factory, settings
):
    """W004 asks for an explicit KEK: following it must not turn every attest into a 503. Keys
    stored under the SECRET_KEY-derived KEK still decrypt until ``keys rewrap`` moves them."""
    assert attests(api, pem_profile, token_factory) == 200
    kek(settings, Fernet.generate_key().decode())
    assert attests(api, pem_profile, token_factory) == 200
    assert len(cli("keys", "rewrap")["kids"]) == 1
    settings.SECRET_KEY = NEW
    assert attests(api, pem_profile, token_factory) == 200


def test_reencrypt_from_an_old_kek_still_works(settings):
    old = Fernet.generate_key().decode()
    kek(settings, old)
    signing_keys.current_signing_key()
    kek(settings, Fernet.generate_key().decode())
    assert cli("keys", "reencrypt", f"--from-old-kek={old}") == {"reencrypted": 1}
    assert cli("keys", "rewrap")["kids"] == []


def test_deploy_check_warns_when_the_kek_is_derived(settings):
    assert check_deploy_settings() == [
        Warning(
            "TRUSTED_AUTH['KEY_ENCRYPTION_KEY'] is not set: the key that encrypts the session "
            "signing keys at rest is derived from SECRET_KEY.",
            hint="Whoever learns SECRET_KEY can then decrypt the signing keys stored in the "
            "database. Set KEY_ENCRYPTION_KEY to a Fernet key kept apart from SECRET_KEY "
            '(python -c "from cryptography.fernet import Fernet; '
            'print(Fernet.generate_key().decode())"), then run '
            "`manage.py trusted_auth keys rewrap`.",
            id="trusted_auth.W004",
        )
    ]
    kek(settings, Fernet.generate_key().decode())
    assert check_deploy_settings() == []


def test_kek_fallbacks_are_checked(settings):
    settings.DEBUG = True
    kek(settings, Fernet.generate_key().decode(), fallbacks=[Fernet.generate_key().decode(), "x"])
    assert check_settings() == [
        Error(
            "TRUSTED_AUTH['KEY_ENCRYPTION_KEY_FALLBACKS'][1] is not a Fernet key.",
            hint="List the Fernet keys that encrypted keys may still be stored under, newest "
            "first.",
            id="trusted_auth.E004",
        )
    ]
    settings.TRUSTED_AUTH = {**settings.TRUSTED_AUTH, "KEY_ENCRYPTION_KEY_FALLBACKS": "x"}
    assert [m.msg for m in check_settings()] == [
        "TRUSTED_AUTH['KEY_ENCRYPTION_KEY_FALLBACKS'] must be a list of Fernet keys."
    ]


ROTATION_SETTINGS = textwrap.dedent("""
    import os

    from tests.settings import *  # noqa: F403

    SECRET_KEY = os.environ["ROTATION_SECRET_KEY"]
    SECRET_KEY_FALLBACKS = [k for k in os.environ["ROTATION_FALLBACKS"].split(",") if k]
    DATABASES = {
        "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["ROTATION_DB"]}
    }
""")

# Signs a session JWT with the current key in a fresh process: what every attest needs.
SIGN = (
    "from trusted_auth.sessions.signing_keys import current_signing_key, private_key; "
    "print(private_key(current_signing_key()).key_size)"
)


def test_fresh_processes_after_a_rotation(tmp_path):
    (tmp_path / "rotation_settings.py").write_text(ROTATION_SETTINGS)

    def manage(secret: str, fallbacks: list[str], *args: str) -> subprocess.CompletedProcess:
        env = {
            "PATH": os.environ["PATH"],
            "PYTHONPATH": os.pathsep.join([str(tmp_path), str(REPO_ROOT)]),
            "DJANGO_SETTINGS_MODULE": "rotation_settings",
            "ROTATION_SECRET_KEY": secret,
            "ROTATION_FALLBACKS": ",".join(fallbacks),
            "ROTATION_DB": str(tmp_path / "db.sqlite3"),
        }
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )

    assert manage(OLD, [], "migrate", "-v0").returncode == 0
    assert manage(OLD, [], "trusted_auth", "keys", "rotate").returncode == 0  # current + next

    unreadable = manage(NEW, [], "shell", "-v0", "-c", SIGN)
    assert unreadable.returncode != 0
    assert "SECRET_KEY_FALLBACKS" in unreadable.stderr

    assert manage(NEW, [OLD], "shell", "-v0", "-c", SIGN).stdout.strip() == "2048"
    rewrapped = manage(NEW, [OLD], "trusted_auth", "keys", "rewrap")
    assert rewrapped.returncode == 0, rewrapped.stderr
    assert len(json.loads(rewrapped.stdout)["kids"]) == 2

    assert manage(NEW, [], "shell", "-v0", "-c", SIGN).stdout.strip() == "2048"
    refused = manage("yet-another-secret-key-" + "x" * 40, [], "trusted_auth", "keys", "rewrap")
    assert refused.returncode == 1
    assert "SECRET_KEY_FALLBACKS" in refused.stderr
