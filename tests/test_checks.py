import pytest
from django.core.checks import Error, Warning

from trusted_auth.checks import check_settings


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
