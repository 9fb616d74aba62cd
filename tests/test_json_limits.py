"""Explicit depth and size caps on outside JSON, the same on every interpreter.

Python 3.11's ``json`` raises ``RecursionError`` around 1,000 levels; 3.13 parses 2,000 and more.
These tests pin our own caps, which hold before ``json`` runs (tox runs them on 3.11 and 3.13).
"""

from __future__ import annotations

import json

import pytest

from trusted_auth.internal.json_limits import (
    MAX_BODY_JSON_DEPTH,
    MAX_TOKEN_JSON_DEPTH,
    JSONLimitExceeded,
    UnpairedSurrogate,
    bounded_loads,
    check_json_limits,
    json_text_depth,
)

from .issuers import default_claims
from .test_attacks import sign_raw
from .test_attest_rejections import assert_rejected, post_attest


def nested_array(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize(
    "text, depth",
    [
        ("1", 0),
        ('"[[[{{{"', 0),
        ('{"a": [1, {"b": []}]}', 4),
        ('["\\"[[[", [["\\\\"]]]', 3),  # an escaped quote does not end the string
        ("[" * 10, 10),  # unclosed: counted as it comes, the parser refuses it later
        ('"unterminated [[[', 0),
    ],
)
def test_depth_is_measured_on_the_text(text, depth):
    assert json_text_depth(text, limit=100) == depth


def test_depth_counting_stops_past_the_limit():
    assert json_text_depth(nested_array(100_000), limit=5) == 6


def test_bounded_loads_refuses_deep_json_before_parsing():
    with pytest.raises(JSONLimitExceeded, match="nested deeper than 64 levels"):
        bounded_loads(nested_array(2_000))
    assert bounded_loads(nested_array(MAX_BODY_JSON_DEPTH)) == json.loads(
        nested_array(MAX_BODY_JSON_DEPTH)
    )


@pytest.mark.parametrize(
    "text",
    [
        r'"\ud800"',
        r'"\uDFFF"',
        r'{"\udc00": 1}',
        r'[[{"a": ["ok", "\ud83d"]}]]',
        r'"\ude00\ud83d"',  # low before high: two halves, no pair
        r'"\\\ud800"',  # an escaped backslash, then an unpaired surrogate
    ],
)
def test_bounded_loads_refuses_unpaired_surrogates(text):
    for form in (text, text.encode()):
        with pytest.raises(UnpairedSurrogate, match="unpaired surrogate"):
            bounded_loads(form)


@pytest.mark.parametrize(
    "text", [r'"\ud83d\ude00"', r'"\\ud800"', r'{"k": "\u00e9\u20ac"}', '"\u00e9"']
)
def test_bounded_loads_accepts_pairs_and_look_alikes(text):
    assert bounded_loads(text) == json.loads(text)
    assert bounded_loads(text.encode()) == json.loads(text)


def test_size_cap_counts_bytes_not_characters():
    with pytest.raises(JSONLimitExceeded, match="larger than 4 bytes"):
        check_json_limits('"é€"', max_depth=1, max_bytes=4)
    check_json_limits('"ab"', max_depth=1, max_bytes=4)


def test_a_claim_nested_2000_deep_is_refused(api, pem_profile, signer):
    payload = '{"deep": ' + nested_array(2_000) + ", " + json.dumps(default_claims())[1:-1] + "}"
    token = sign_raw(signer, {"alg": "RS256", "typ": "JWT", "kid": signer.kid}, payload)
    response = post_attest(api, pem_profile.profile_id, token, session_duration_minutes=60)
    assert_rejected(response, 401, "invalid_trusted_auth_token", "claims nested deeper than 32")


def test_a_claim_nested_within_the_cap_is_accepted(api, pem_profile, signer):
    # The claims object is level 1, so a claim 31 deep makes 32 levels: the most accepted.
    claims = default_claims(deep=json.loads(nested_array(MAX_TOKEN_JSON_DEPTH - 1)))
    response = post_attest(
        api, pem_profile.profile_id, signer.sign(claims), session_duration_minutes=60
    )
    assert response.status_code == 200, response.json()


def test_a_body_nested_2000_deep_is_a_bad_request(api, pem_profile):
    body = '{"session_token": "t", "telemetry_id": ' + nested_array(2_000) + "}"
    response = api.post("/v1/sessions/authenticate", body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert response.json()["error_type"] == "bad_request"
    assert "nested deeper than 64 levels" in response.json()["error_message"]
