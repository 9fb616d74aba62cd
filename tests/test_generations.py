"""Generation counters: bumped with the change they announce, memoised per request only."""

from __future__ import annotations

import contextvars

import pytest
from django.core.signals import request_finished, request_started
from django.db import transaction

from trusted_auth.internal import generations
from trusted_auth.models import ApiSecret, Generation

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_tracked_save_bumps_its_counter():
    before = generations.value(generations.SECRETS)
    ApiSecret.objects.create(digest="a" * 64, last_four="aaaa")
    assert generations.value(generations.SECRETS) == before + 1
    assert generations.value(generations.PROFILES) == 0


def test_a_rolled_back_change_bumps_nothing():
    with pytest.raises(RuntimeError), transaction.atomic():
        ApiSecret.objects.create(digest="b" * 64, last_four="bbbb")
        raise RuntimeError
    assert not Generation.objects.filter(name=generations.SECRETS).exists()


def test_memoised_inside_a_request_and_fresh_in_the_next():
    request_started.send(sender=None)
    try:
        first = generations.value(generations.SIGNING_KEYS)
        Generation.objects.update_or_create(
            name=generations.SIGNING_KEYS, defaults={"value": first + 5}
        )
        assert generations.value(generations.SIGNING_KEYS) == first  # same request: memo
    finally:
        request_finished.send(sender=None)
    request_started.send(sender=None)
    try:
        assert generations.value(generations.SIGNING_KEYS) == first + 5
    finally:
        request_finished.send(sender=None)


def test_outside_a_request_every_read_is_fresh():
    generations.bump(generations.PROFILES)
    Generation.objects.filter(name=generations.PROFILES).update(value=41)
    assert generations.value(generations.PROFILES) == 41


class Rollback(Exception):
    pass


def test_a_counter_read_inside_a_rolled_back_transaction_is_not_memoised():
    request_started.send(sender=None)
    try:
        before = generations.value(generations.PROFILES)
        with pytest.raises(Rollback), transaction.atomic():
            generations.bump(generations.PROFILES)
            assert generations.value(generations.PROFILES) == before + 1
            raise Rollback
        assert generations.value(generations.PROFILES) == before
    finally:
        request_finished.send(sender=None)


def test_the_memo_belongs_to_one_request_not_to_its_thread():
    """Under ASGI one thread runs many requests at once, each in a context of its own."""
    request = contextvars.copy_context()
    request.run(request_started.send, sender=None)
    try:
        first = request.run(generations.value, generations.SIGNING_KEYS)
        Generation.objects.update_or_create(
            name=generations.SIGNING_KEYS, defaults={"value": first + 5}
        )
        # Code outside that request, on the same thread, reads the counter afresh.
        assert generations.value(generations.SIGNING_KEYS) == first + 5
        assert request.run(generations.value, generations.SIGNING_KEYS) == first  # its memo
    finally:
        request.run(request_finished.send, sender=None)
