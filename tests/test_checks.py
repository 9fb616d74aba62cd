import os
import subprocess
import sys
from io import StringIO

import pytest
from django.core.checks import Error, Warning
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from tests.gunicorn_server import REPOSITORY
from trusted_auth.checks import check_deploy, check_settings


@pytest.fixture(autouse=True)
def _debug(settings):
    # The test settings allow private networks for the loopback issuers; W001 only fires
    # outside DEBUG, which test_private_networks_outside_debug_warns covers on its own.
    settings.DEBUG = True


def _ids(messages):
    return [m.id for m in messages]


def test_test_settings_pass_the_checks():
    assert check_settings() == []


def test_missing_project_id_and_bad_issuer(settings):
    settings.TRUSTED_AUTH = {
        **settings.TRUSTED_AUTH,
        "PROJECT_ID": "",
        "ISSUER": "https://x.example/",
    }
    assert _ids(check_settings()) == ["trusted_auth.E002", "trusted_auth.E003"]


def test_unknown_key_is_reported_with_the_known_ones(settings):
    settings.TRUSTED_AUTH = {**settings.TRUSTED_AUTH, "JWKS_CACHE_SECOND": 10}
    messages = check_settings()
    assert _ids(messages) == ["trusted_auth.E001"]
    assert "JWKS_CACHE_SECOND" in messages[0].msg
    assert "JWKS_CACHE_SECONDS" in messages[0].hint


def test_bad_key_encryption_key(settings):
    settings.TRUSTED_AUTH = {**settings.TRUSTED_AUTH, "KEY_ENCRYPTION_KEY": "not-a-fernet-key"}
    assert check_settings() == [
        Error(
            "TRUSTED_AUTH['KEY_ENCRYPTION_KEY'] is not a Fernet key.",
            hint='Generate one with: python -c "from cryptography.fernet import Fernet; '
            'print(Fernet.generate_key().decode())"',
            id="trusted_auth.E004",
        )
    ]


def test_non_positive_numbers_and_unknown_cache(settings):
    settings.TRUSTED_AUTH = {
        **settings.TRUSTED_AUTH,
        "JWKS_CACHE_SECONDS": 0,
        "CACHE_ALIAS": "nope",
    }
    assert _ids(check_settings()) == ["trusted_auth.E005", "trusted_auth.E006"]


def use_shared_cache(settings) -> None:
    """Point CACHE_ALIAS at a cache shared by processes (no server is contacted by a check)."""
    settings.CACHES = {
        **settings.CACHES,
        "shared": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://",
        },
    }
    settings.TRUSTED_AUTH = {**settings.TRUSTED_AUTH, "CACHE_ALIAS": "shared"}


def test_private_networks_outside_debug_warns(settings):
    use_shared_cache(settings)
    settings.DEBUG = False
    assert check_settings() == [
        Warning(
            "TRUSTED_AUTH['JWKS_ALLOW_PRIVATE_NETWORKS'] is on outside DEBUG.",
            hint="It lets a profile's JWKS URL reach private and loopback addresses (SSRF); "
            "keep it for tests and local demos.",
            id="trusted_auth.W001",
        )
    ]
    settings.DEBUG = True
    assert check_settings() == []


PROCESS_LOCAL_HINT = (
    "Rate limits, JWKS caches, refetch cooldowns and remembered JWKS failures are then kept per "
    "worker process, not per deployment. Use a shared cache (Redis) when more than one process "
    "serves requests; replay protection does not depend on it."
)


@pytest.mark.parametrize(
    "backend",
    [
        "django.core.cache.backends.locmem.LocMemCache",
        "django.core.cache.backends.dummy.DummyCache",
    ],
)
def test_a_process_local_cache_outside_debug_warns(settings, backend):
    settings.CACHES = {**settings.CACHES, "local": {"BACKEND": backend}}
    settings.TRUSTED_AUTH = {
        **settings.TRUSTED_AUTH,
        "CACHE_ALIAS": "local",
        "JWKS_ALLOW_PRIVATE_NETWORKS": False,
    }
    settings.DEBUG = False
    assert check_settings() == [
        Warning(
            f"TRUSTED_AUTH['CACHE_ALIAS'] ('local') is a process-local cache ({backend}).",
            hint=PROCESS_LOCAL_HINT,
            id="trusted_auth.W002",
        )
    ]
    settings.DEBUG = True
    assert check_settings() == []


@pytest.mark.parametrize(
    "backend",
    [
        "django.core.cache.backends.redis.RedisCache",
        "django.core.cache.backends.db.DatabaseCache",
        "django.core.cache.backends.memcached.PyMemcacheCache",
    ],
)
def test_a_shared_cache_outside_debug_does_not_warn(settings, backend):
    settings.CACHES = {**settings.CACHES, "shared": {"BACKEND": backend, "LOCATION": "x"}}
    settings.TRUSTED_AUTH = {
        **settings.TRUSTED_AUTH,
        "CACHE_ALIAS": "shared",
        "JWKS_ALLOW_PRIVATE_NETWORKS": False,
    }
    settings.DEBUG = False
    assert check_settings() == []


def test_settings_object_reloads_on_override(settings):
    from trusted_auth.conf import trusted_auth_settings

    assert trusted_auth_settings.JWKS_CACHE_SECONDS == 300
    settings.TRUSTED_AUTH = {**settings.TRUSTED_AUTH, "JWKS_CACHE_SECONDS": 7}
    assert trusted_auth_settings.JWKS_CACHE_SECONDS == 7


# --- manage.py check --deploy: ISSUER as the SDKs and clients will use it --------------------

NOT_HTTPS_HINT = (
    "The Stytch SDKs accept only an https custom_base_url, and authenticate_jwt_local accepts "
    "only session JWTs whose iss is that base URL: serve this deployment over HTTPS and set "
    "ISSUER to its https:// base URL."
)
HOST_HINT = (
    "Clients call this deployment at ISSUER, and Django answers 400 (DisallowedHost) to a host "
    "not in ALLOWED_HOSTS. Add the host to ALLOWED_HOSTS, or set ISSUER to the public base URL "
    "clients use."
)
SLASH_HINT = (
    "The SDKs strip the trailing slash of their base URL before they compare it with the "
    "session JWT's iss, so authenticate_jwt_local returns None for every session JWT. Remove "
    "the slash."
)


def deploy_messages(settings, issuer: str, allowed_hosts: list[str]) -> list:
    settings.TRUSTED_AUTH = {**settings.TRUSTED_AUTH, "ISSUER": issuer}
    settings.ALLOWED_HOSTS = allowed_hosts
    return [m for m in check_deploy() if m.id.startswith("trusted_auth.")]


def test_an_https_issuer_on_an_allowed_host_passes_the_deploy_check(settings):
    for allowed in (["auth.example.com"], [".example.com"], ["*"], ["AUTH.example.com"]):
        assert deploy_messages(settings, "https://auth.example.com", allowed) == [], allowed
    assert deploy_messages(settings, "https://auth.example.com:8443/id", ["auth.example.com"]) == []
    assert deploy_messages(settings, "https://[::1]:8000", ["[::1]"]) == []


def test_an_issuer_that_is_not_https_warns(settings):
    assert deploy_messages(settings, "http://auth.example.com", ["auth.example.com"]) == [
        Warning(
            "TRUSTED_AUTH['ISSUER'] is not an https URL: 'http://auth.example.com'.",
            hint=NOT_HTTPS_HINT,
            id="trusted_auth.W005",
        )
    ]


@pytest.mark.parametrize(
    "allowed", [[], ["example.com"], ["auth.example.com.evil"], ["other.example.com"]]
)
def test_an_issuer_whose_host_is_not_allowed_warns(settings, allowed):
    settings.DEBUG = False
    assert deploy_messages(settings, "https://auth.example.com", allowed) == [
        Warning(
            "The host of TRUSTED_AUTH['ISSUER'] ('auth.example.com') is not in ALLOWED_HOSTS.",
            hint=HOST_HINT,
            id="trusted_auth.W006",
        )
    ]


def test_with_debug_and_no_allowed_hosts_the_local_hosts_are_allowed_as_django_does(settings):
    assert deploy_messages(settings, "https://127.0.0.1:8000", []) == []
    assert deploy_messages(settings, "https://localhost:8000", []) == []
    assert [m.id for m in deploy_messages(settings, "https://auth.example.com", [])] == [
        "trusted_auth.W006"
    ]


def test_an_issuer_with_a_trailing_slash_warns_on_deploy_too(settings):
    assert deploy_messages(settings, "https://auth.example.com/", ["auth.example.com"]) == [
        Warning(
            "TRUSTED_AUTH['ISSUER'] ends in '/': 'https://auth.example.com/'.",
            hint=SLASH_HINT,
            id="trusted_auth.W007",
        )
    ]


def test_all_three_at_once(settings):
    messages = deploy_messages(settings, "http://internal:8000/", ["auth.example.com"])
    assert [m.id for m in messages] == [
        "trusted_auth.W005",
        "trusted_auth.W006",
        "trusted_auth.W007",
    ]


def test_the_deploy_check_runs_only_with_deploy(settings):
    settings.TRUSTED_AUTH = {**settings.TRUSTED_AUTH, "ISSUER": "http://auth.example.com"}
    settings.ALLOWED_HOSTS = ["auth.example.com"]
    out = StringIO()
    call_command("check", stdout=out)
    assert "trusted_auth.W005" not in out.getvalue()
    with pytest.raises(SystemCheckError) as raised:
        call_command("check", "--deploy", "--fail-level", "WARNING", stdout=out)
    assert "trusted_auth.W005" in str(raised.value)


# --- a fresh install of the example project prints no warning --------------------------------


def test_the_example_project_passes_check_with_no_warning(tmp_path):
    """W010 (the browser flow's backend) and every other check, on the example's defaults."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "TRUSTED_AUTH_")) and key not in ("DATABASE_URL",)
    }
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=REPOSITORY,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "System check identified no issues (0 silenced).\n"
    assert "trusted_auth." not in result.stderr
