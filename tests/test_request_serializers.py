"""``RequestSerializer.validated`` gives what a DRF ``Serializer`` instance gives, on every body.

``ServerAPIView.parse`` checks request bodies on fields bound once per class instead of making a
serializer per request (DRF deep-copies its fields on each). These tests hold the two to the same
answers, data and error messages, for every request serializer and a pool of awkward values.
"""

from __future__ import annotations

import itertools

import pytest
from rest_framework import serializers

from trusted_auth.api import management_serializers  # noqa: F401 - defines subclasses
from trusted_auth.api.serializers import RequestSerializer

VALUES = [
    None,
    "",
    "   ",
    " padded ",
    "plain",
    "x" * 300,
    "a\x00b",
    "\ud800",
    0,
    5,
    5.5,
    True,
    False,
    [],
    ["a", 1],
    {},
    {"a": {"b": [1, None]}},
]


def every_subclass(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *every_subclass(sub)]
    return found


SERIALIZERS = sorted(set(every_subclass(RequestSerializer)), key=lambda c: c.__name__)


def drf_answer(cls: type[RequestSerializer], body: dict) -> tuple[dict, dict]:
    serializer = cls(data=body)
    if serializer.is_valid():
        return dict(serializer.validated_data), {}
    return {}, {name: [str(m) for m in messages] for name, messages in serializer.errors.items()}


def our_answer(cls: type[RequestSerializer], body: dict) -> tuple[dict, dict]:
    try:
        return cls.validated(body), {}
    except serializers.ValidationError as error:
        return {}, {name: [str(m) for m in messages] for name, messages in error.detail.items()}


def bodies(cls: type[RequestSerializer]) -> list[dict]:
    names = list(cls._declared_fields)
    found: list[dict] = [{}, {"unknown": 1}]
    for name, value in itertools.product(names, VALUES):
        found.append({name: value})
    # Every field at once, so several errors come back together (and in order).
    for value in VALUES:
        found.append(dict.fromkeys(names, value))
    found.append({name: VALUES[i % len(VALUES)] for i, name in enumerate(names)})
    return found


def test_every_request_serializer_is_covered():
    assert {c.__name__ for c in SERIALIZERS} >= {
        "AttestRequestSerializer",
        "B2BAttestRequestSerializer",
        "AuthenticateRequestSerializer",
        "RevokeRequestSerializer",
        "B2BRevokeRequestSerializer",
        "UserCreateSerializer",
        "OrganizationSerializer",
        "MemberSerializer",
        "MemberSearchSerializer",
    }


@pytest.mark.parametrize("cls", SERIALIZERS, ids=lambda c: c.__name__)
def test_validated_matches_a_drf_serializer_instance(cls):
    for body in bodies(cls):
        assert our_answer(cls, body) == drf_answer(cls, body), body


def test_the_shared_fields_keep_no_state_between_bodies():
    from trusted_auth.api.serializers import AttestRequestSerializer as Attest

    good = {"profile_id": "ttp-1", "token": "t"}
    assert Attest.validated(good) == good
    with pytest.raises(serializers.ValidationError):
        Attest.validated({"profile_id": "", "token": 5})
    assert Attest.validated(good) == good


@pytest.mark.parametrize(
    "attrs",
    [
        {"validate": lambda self, attrs: attrs},
        {"validate_name": lambda self, value: value},
        {"inner": serializers.CharField(source="other")},
        {"inner": serializers.Serializer()},
    ],
    ids=["validate", "validate_field", "source", "nested"],
)
def test_a_request_serializer_with_hooks_is_refused_when_defined(attrs):
    with pytest.raises(TypeError, match="plain fields only"):
        type("Hooked", (RequestSerializer,), {"name": serializers.CharField(), **attrs})
