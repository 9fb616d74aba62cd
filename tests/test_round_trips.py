"""Cache round trips on the hot path: one ``incr`` per throttle scope (two commands on Redis),
none for metrics until the request ends. Counted on the cache object, and for Redis on
redis-py's socket."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
import redis
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.core.signals import request_finished, request_started
from django.test import RequestFactory, override_settings

from trusted_auth.api.throttling import AuthenticateIPThrottle
from trusted_auth.audit import metrics
from trusted_auth.internal.counters import incr_with_expiry

CACHE_METHODS = ("get", "set", "add", "incr", "get_many", "set_many", "delete", "touch")


@contextmanager
def counted_calls(cache):
    """Count calls to the cache API (and Redis commands sent, a pipeline being one)."""
    counts = {"calls": 0, "redis": 0}
    saved = {}
    for name in CACHE_METHODS:
        original = getattr(cache, name)
        saved[name] = original

        def counted(*args, __original=original, **kwargs):
            counts["calls"] += 1
            return __original(*args, **kwargs)

        setattr(cache, name, counted)
    connection_class = send = None
    if isinstance(cache, RedisCache):
        import redis.connection

        connection_class = redis.connection.Connection
        send = connection_class.send_packed_command

        def counted_send(self, *args, **kwargs):
            counts["redis"] += 1
            return send(self, *args, **kwargs)

        connection_class.send_packed_command = counted_send
    try:
        yield counts
    finally:
        for name in saved:
            delattr(cache, name)
        if connection_class is not None:
            connection_class.send_packed_command = send


@pytest.mark.django_db
def test_a_throttle_scope_costs_one_cache_call_per_request(settings):
    settings.TRUSTED_AUTH = {**settings.TRUSTED_AUTH, "THROTTLE_RATES": {"authenticate_ip": "5/d"}}
    cache = caches["default"]
    request = RequestFactory().post("/v1/sessions/authenticate", REMOTE_ADDR="192.0.2.10")
    allowed = []
    for _ in range(7):
        request_started.send(sender=None)  # a refusal's metric waits for the request's end
        try:
            with counted_calls(cache) as counts:
                allowed.append(AuthenticateIPThrottle().allow_request(request, None))
        finally:
            request_finished.send(sender=None)
        if isinstance(cache, RedisCache):
            # Django's incr is EXISTS then INCRBY; opening the window, EXISTS then SET NX EX.
            assert counts["redis"] == 2
        if len(allowed) > 1:
            assert counts["calls"] == 1  # the window is open: one incr
    assert allowed == [True] * 5 + [False] * 2


@pytest.mark.django_db
def test_metrics_are_sent_once_when_the_request_ends():
    cache = caches["default"]
    request_started.send(sender=None)
    try:
        with counted_calls(cache) as during:
            for _ in range(3):
                metrics.increment(metrics.ATTESTS, outcome="success", error_type="")
            metrics.increment(metrics.JWKS_CACHE_HITS)
        assert during == {"calls": 0, "redis": 0}  # nothing on the hot path
        assert "trusted_auth_attests_total{" not in metrics.exposition()
    finally:
        with counted_calls(cache) as at_end:
            request_finished.send(sender=None)
    if isinstance(cache, RedisCache):
        assert at_end["redis"] == 4  # per counter: EXISTS, then SET NX (or INCRBY)
    exposed = metrics.exposition()
    assert 'trusted_auth_attests_total{outcome="success",error_type=""} 3' in exposed
    assert "trusted_auth_jwks_cache_hits_total 1" in exposed


@pytest.mark.django_db(transaction=True)  # attest_succeeded (and its counter) follows the commit
def test_metrics_of_api_requests_are_counted_after_the_response(api, pem_profile, token_factory):
    for _ in range(2):
        response = api.post(
            "/v1/sessions/attest",
            {"profile_id": pem_profile.profile_id, "token": token_factory()},
            format="json",
        )
        assert response.status_code == 200, response.json()
    assert 'trusted_auth_attests_total{outcome="success",error_type=""} 2' in metrics.exposition()


def test_a_throttle_counter_never_lives_without_its_expiry(redis_server):
    """Django's Redis ``incr`` checks the key exists, then increments it; a counter that expires
    in between is made again by INCR, without an expiry. Planted here as that INCR leaves it
    (no TTL), the next count gives it one; a counter opened normally keeps the one it had."""
    raw = redis.Redis.from_url(redis_server.url)
    caches_setting = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis_server.url,
        }
    }
    with override_settings(CACHES=caches_setting):
        cache = caches["default"]
        assert incr_with_expiry(cache, "opened", 60) == 1
        assert incr_with_expiry(cache, "opened", 60) == 2
        assert 0 < raw.ttl(cache.make_key("opened")) <= 60

        raw.set(cache.make_key("remade"), 0)  # what INCR leaves after the counter expired
        assert raw.ttl(cache.make_key("remade")) == -1  # no expiry
        assert incr_with_expiry(cache, "remade", 60) == 1
        assert 0 < raw.ttl(cache.make_key("remade")) <= 60
    raw.close()
