"""The metrics' label sets and per-request state (issue 26 item 10).

Every ``error_type`` of the catalog is its own series (a hand-copied list counted 21 of them as
``other``); increments wait for the end of their own request, also when several requests
interleave on one thread, as they do under ASGI.
"""

from __future__ import annotations

import asyncio

import pytest
from django.contrib.auth import get_user_model
from django.core.signals import request_finished, request_started
from django.db import close_old_connections

from trusted_auth.audit import metrics
from trusted_auth.error_catalog import ERRORS

from .test_attest_rejections import post_attest
from .test_observability import configure, scrape

pytestmark = pytest.mark.django_db(transaction=True)


def test_every_catalog_error_type_is_a_series_of_its_own(client, settings):
    configure(settings, METRICS_ENABLED=True)
    for error_type in ERRORS:
        metrics.increment(metrics.ATTESTS, outcome="failure", error_type=error_type)
    samples = scrape(client)
    for error_type in ERRORS:
        key = f'trusted_auth_attests_total{{outcome="failure",error_type="{error_type}"}}'
        assert samples.get(key) == 1, error_type
    assert 'trusted_auth_attests_total{outcome="failure",error_type="other"}' not in samples


def test_an_attest_refused_for_an_inactive_user_is_counted_by_name(
    api, client, pem_profile, token_factory, settings
):
    configure(settings, METRICS_ENABLED=True)
    assert post_attest(api, pem_profile.profile_id, token_factory(sub="ext-1")).status_code == 200
    get_user_model().objects.update(is_active=False)
    refused = post_attest(api, pem_profile.profile_id, token_factory(sub="ext-1"))
    assert refused.json()["error_type"] == "user_inactive", refused.json()
    samples = scrape(client)
    assert samples['trusted_auth_attests_total{outcome="failure",error_type="user_inactive"}'] == 1


def exposed(error_type: str) -> int:
    """The count of failed attests with ``error_type`` in the exposition, 0 when not shown."""
    prefix = f'trusted_auth_attests_total{{outcome="failure",error_type="{error_type}"}} '
    lines = [line for line in metrics.exposition().splitlines() if line.startswith(prefix)]
    return int(lines[0].removeprefix(prefix)) if lines else 0


def test_interleaved_requests_on_one_thread_keep_their_own_increments(settings):
    """Two requests served by one thread, as ASGI serves them: the second one starting must not
    send (or drop) the first one's pending increments, and each request sends its own when it
    ends."""
    configure(settings, METRICS_ENABLED=True)
    first_counted = asyncio.Event()
    second_started = asyncio.Event()
    seen_before_first_ended: list[int] = []

    async def first() -> None:
        request_started.send(sender=None)
        metrics.increment(metrics.ATTESTS, outcome="failure", error_type="user_not_found")
        first_counted.set()
        await second_started.wait()
        seen_before_first_ended.append(exposed("user_not_found"))
        request_finished.send(sender=None)

    async def second() -> None:
        await first_counted.wait()
        request_started.send(sender=None)
        second_started.set()
        metrics.increment(metrics.ATTESTS, outcome="failure", error_type="member_not_found")
        await asyncio.sleep(0)
        request_finished.send(sender=None)

    async def both() -> None:
        await asyncio.gather(first(), second())

    # Django's own request_started/request_finished receiver checks this thread's database
    # connection, which it refuses inside an event loop when an earlier test of this worker left
    # one open (an in-memory SQLite connection is never closed): only the metrics receivers are
    # under test.
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    try:
        asyncio.run(both())
    finally:
        for signal in (request_started, request_finished):
            signal.connect(close_old_connections)
    assert seen_before_first_ended == [0]
    assert (exposed("user_not_found"), exposed("member_not_found")) == (1, 1)
