"""Settings of the example project, read from the environment with django-environ.

Defaults make ``python manage.py trusted_auth_demo`` work on a fresh machine: SQLite in the
project folder, the local-memory cache, DEBUG on. For several workers set ``DATABASE_URL``
(PostgreSQL) and ``CACHE_URL`` (``redis://…``) so replay markers and JWKS caches are shared.
"""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env(
    DEBUG=(bool, True),
    ALLOWED_HOSTS=(list, ["localhost", "127.0.0.1", "[::1]"]),
    TRUSTED_AUTH_JWKS_ALLOW_PRIVATE_NETWORKS=(bool, False),
)

DEBUG = env("DEBUG")
SECRET_KEY = env("SECRET_KEY", default="django-insecure-example-project-only-change-me")
ALLOWED_HOSTS = env("ALLOWED_HOSTS")

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
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Ends a browser-flow login with its trusted session (check trusted_auth.W008).
    "trusted_auth.middleware.BrowserSessionMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "example_project.urls"
WSGI_APPLICATION = "example_project.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several workers on one SQLite file (README "Failure modes"): WAL lets readers run beside
    # the one writer; IMMEDIATE takes the write lock when a transaction begins, so two
    # transactions never deadlock upgrading read locks (which SQLite reports at once as
    # "database is locked", busy timeout or not); the busy timeout makes a writer wait for the
    # lock instead of failing. A lock still held after it answers 503, never 500.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": env.float("SQLITE_BUSY_TIMEOUT_SECONDS", default=10.0),
        }
    )
# Several workers or hosts: CACHE_URL=redis://host:6379/0 (Django's own RedisCache, pinned here:
# django-environ would switch to django-redis whenever that happens to be installed), and
# DATABASE_URL=postgres://user:password@host:5432/name?conn_max_age=600&conn_health_checks=true
# (persistent connections; see "Running at scale" in the README).
_CACHE_URL = env.str("CACHE_URL", default="locmemcache://trusted-auth")
CACHES = {
    "default": env.cache_url_config(
        _CACHE_URL,
        backend="django.core.cache.backends.redis.RedisCache"
        if _CACHE_URL.startswith(("redis://", "rediss://"))
        else None,
    )
}
if _CACHE_URL.startswith(("redis://", "rediss://")):
    # Explicit connect and read timeouts: a Redis that is down or stalled (SIGSTOP, a full
    # network buffer) costs a request at most this long per cache call, then it answers 503
    # service_unavailable; without them redis-py waits forever and the worker hangs until
    # Gunicorn kills it. They are passed to redis-py's connection pool as they are.
    CACHES["default"].setdefault("OPTIONS", {}).update(
        {
            "socket_connect_timeout": env.float("REDIS_CONNECT_TIMEOUT_SECONDS", default=1.0),
            "socket_timeout": env.float("REDIS_TIMEOUT_SECONDS", default=1.0),
        }
    )

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

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
    "PROJECT_ID": env("TRUSTED_AUTH_PROJECT_ID", default="project-test-example"),
    "ISSUER": env("TRUSTED_AUTH_ISSUER", default="https://127.0.0.1:8000"),
    "JWKS_ALLOW_PRIVATE_NETWORKS": env("TRUSTED_AUTH_JWKS_ALLOW_PRIVATE_NETWORKS"),
    "KEY_ENCRYPTION_KEY": env("TRUSTED_AUTH_KEY_ENCRYPTION_KEY", default=""),
    "JWKS_CA_BUNDLE": env("TRUSTED_AUTH_JWKS_CA_BUNDLE", default=""),
    "SIGNING_KEY_SIZE": env.int("TRUSTED_AUTH_SIGNING_KEY_SIZE", default=2048),
    # "attest_ip=600/m,attest_profile=1200/m,authenticate_ip=6000/m"; a scope left out keeps
    # its default, "none" turns it off.
    "THROTTLE_RATES": {
        scope: None if rate.lower() == "none" else rate
        for scope, rate in env.dict("TRUSTED_AUTH_THROTTLE_RATES", default={}).items()
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"trusted_auth": {"handlers": ["console"], "level": "INFO"}},
}
