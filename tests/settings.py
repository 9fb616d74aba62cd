"""Test settings. ``DATABASE_URL``/``CACHE_URL`` switch the suite to PostgreSQL/Redis."""

import environ

env = environ.Env()

SECRET_KEY = "tests-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz"
DEBUG = False
ALLOWED_HOSTS = ["*"]
USE_TZ = True
TIME_ZONE = "UTC"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "trusted_auth",
    "example_project",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Ends a browser-flow login with its trusted session (check trusted_auth.W008).
    "trusted_auth.middleware.BrowserSessionMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "example_project.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
DATABASES = {"default": env.db("DATABASE_URL", default="sqlite://:memory:")}
# redis:// is Django's own RedisCache (django-environ would pick django-redis if installed).
_CACHE_URL = env.str("CACHE_URL", default="locmemcache://tests")
CACHES = {
    "default": env.cache_url_config(
        _CACHE_URL,
        backend="django.core.cache.backends.redis.RedisCache"
        if _CACHE_URL.startswith(("redis://", "rediss://"))
        else None,
    )
}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
STATIC_URL = "static/"

# The browser flow logs users in through trusted_auth's backend (check trusted_auth.W010).
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "trusted_auth.backends.TrustedAuthBackend",
]

REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
}

TRUSTED_AUTH = {
    "PROJECT_ID": "project-test-00000000-0000-0000-0000-000000000000",
    "ISSUER": "https://testserver",
    # The test issuers serve their JWKS on loopback.
    "JWKS_ALLOW_PRIVATE_NETWORKS": True,
    # 2048-bit session keys: the default, pinned here so tests do not follow a change of it.
    "SIGNING_KEY_SIZE": 2048,
    # The Gunicorn servers of tests/test_scale.py trust the test CA through the environment.
    "JWKS_CA_BUNDLE": env.str("TRUSTED_AUTH_JWKS_CA_BUNDLE", default=""),
}

SILENCED_SYSTEM_CHECKS = ["trusted_auth.W001"]
