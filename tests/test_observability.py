"""What an operator sees: one structured log line per attest, and counters at an opt-in URL."""

from __future__ import annotations

import json
import logging
import re

import pytest

from trusted_auth.audit import metrics
from trusted_auth.errors import JwksUnavailable
from trusted_auth.issuers.profiles import preview_jwks
from trusted_auth.models import AuditEvent

from .issuers import default_claims
from .test_attest_rejections import ENVELOPE_FIELDS, post_attest

# Success logs and counters follow the attest's commit (attest_succeeded is sent on commit).
pytestmark = pytest.mark.django_db(transaction=True)

METRICS = "/metrics"


def configure(settings, **values) -> None:
    settings.TRUSTED_AUTH = {**settings.TRUSTED_AUTH, **values}


def attest_records(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "trusted_auth.attest"]


def scrape(client) -> dict[str, int]:
    """``GET /metrics`` parsed into ``{'name{labels}': value}``."""
    response = client.get(METRICS)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    samples = {}
    for line in response.content.decode().splitlines():
        if line.startswith("#"):
            assert re.fullmatch(r"# (HELP|TYPE) trusted_auth_\w+ .+", line), line
            continue
        name, value = line.rsplit(" ", 1)
        samples[name] = int(value)
    return samples


# --- the log line ------------------------------------------------------------------------------


def test_one_json_log_line_per_attest_without_token_or_clear_email(
    api, pem_profile, token_factory, caplog
):
    caplog.set_level(logging.INFO, logger="trusted_auth.attest")
    token = token_factory(email="ada@example.com", jti="jti-logged")
    response = post_attest(api, pem_profile.profile_id, token, session_duration_minutes=60)
    assert response.status_code == 200, response.json()
    body = response.json()

    [record] = attest_records(caplog)
    assert record.levelno == logging.INFO
    fields = json.loads(record.getMessage())
    assert fields == {
        "event": "attest",
        "outcome": "success",
        "error_type": "",
        "error_message": "",
        "profile_id": pem_profile.profile_id,
        "token_id": "jti-logged",
        "user_id": body["user_id"],
        "organization_id": "",
        "session_id": body["session"]["session_id"],
        "ip": "127.0.0.1",
        "email": fields["email"],
        "audit_event_id": AuditEvent.objects.get().pk,
    }
    assert re.fullmatch(r"hmac:[0-9a-f]{16}", fields["email"])
    for name, value in fields.items():  # the same fields on the record, for other formatters
        assert getattr(record, name) == value
    text = record.getMessage()
    assert "ada@example.com" not in text
    assert token not in text and token.split(".")[2] not in text
    assert body["session_token"] not in text and body["session_jwt"] not in text


def test_the_email_hash_is_stable_and_clear_text_is_opt_in(
    api, pem_profile, token_factory, caplog, settings
):
    caplog.set_level(logging.INFO, logger="trusted_auth.attest")
    for _ in range(2):
        post_attest(api, pem_profile.profile_id, token_factory(email="ada@example.com"))
    post_attest(api, pem_profile.profile_id, token_factory(email="bob@example.com"))
    configure(settings, LOG_EMAILS=True)
    post_attest(api, pem_profile.profile_id, token_factory(email="ada@example.com"))
    emails = [json.loads(r.getMessage())["email"] for r in attest_records(caplog)]
    assert emails[0] == emails[1] != emails[2]
    assert emails[3] == "ada@example.com"


def test_failures_are_logged_as_warnings_with_their_error_type(
    api, pem_profile, token_factory, caplog
):
    caplog.set_level(logging.INFO, logger="trusted_auth.attest")
    token = token_factory(iss="https://evil.test")
    post_attest(api, pem_profile.profile_id, token)
    api.post("/v1/sessions/attest", "{not json", content_type="application/json")
    first, second = attest_records(caplog)
    assert first.levelno == logging.WARNING
    assert (first.outcome, first.error_type, first.profile_id) == (
        "failure",
        "jwt_invalid_issuer",
        pem_profile.profile_id,
    )
    assert token not in first.getMessage()
    assert (second.outcome, second.error_type, second.profile_id) == ("failure", "bad_request", "")


# --- the metrics endpoint ----------------------------------------------------------------------


def test_metrics_are_off_by_default(client):
    response = client.get(METRICS)
    body = response.json()
    assert response.status_code == 404
    assert ENVELOPE_FIELDS <= body.keys() and body["error_type"] == "not_found"


def test_metrics_bearer_token(client, settings):
    configure(settings, METRICS_ENABLED=True, METRICS_BEARER_TOKEN="scrape-secret")
    for header in (None, "Bearer wrong", "scrape-secret", "Basic c2NyYXBlLXNlY3JldA=="):
        extra = {"HTTP_AUTHORIZATION": header} if header else {}
        response = client.get(METRICS, **extra)
        assert response.status_code == 401, header
        assert response.json()["error_type"] == "unauthorized_credentials"
    response = client.get(METRICS, HTTP_AUTHORIZATION="Bearer scrape-secret")
    assert response.status_code == 200
    assert b"# TYPE trusted_auth_attests_total counter" in response.content


def test_attests_are_counted_by_outcome_and_error_type(
    api, client, pem_profile, token_factory, settings
):
    configure(settings, METRICS_ENABLED=True)
    assert scrape(client) == {"trusted_auth_jwks_cache_hits_total": 0}
    token = token_factory()
    post_attest(api, pem_profile.profile_id, token)
    post_attest(api, pem_profile.profile_id, token)  # replayed
    post_attest(api, pem_profile.profile_id, token_factory(aud="other"))
    post_attest(api, "ttp-nope", token_factory())
    api.post("/v1/b2b/sessions/attest", "[]", content_type="application/json")
    assert scrape(client) == {
        'trusted_auth_attests_total{outcome="success",error_type=""}': 1,
        'trusted_auth_attests_total{outcome="failure",error_type="trusted_token_replayed"}': 1,
        'trusted_auth_attests_total{outcome="failure",error_type="jwt_invalid_audience"}': 1,
        'trusted_auth_attests_total{outcome="failure",'
        'error_type="trusted_token_profile_not_found"}': 1,
        'trusted_auth_attests_total{outcome="failure",error_type="bad_request"}': 1,
        "trusted_auth_jwks_cache_hits_total": 0,
    }


def test_throttled_requests_are_counted(api, client, pem_profile, settings):
    configure(
        settings,
        METRICS_ENABLED=True,
        THROTTLE_RATES={"attest_ip": "1/d", "attest_profile": None, "authenticate_ip": "1/d"},
    )
    for _ in range(3):
        post_attest(api, pem_profile.profile_id, "a.b.c")
    for _ in range(2):
        api.post("/v1/sessions/authenticate", {"session_token": "x"}, format="json")
    samples = scrape(client)
    assert samples['trusted_auth_throttled_total{scope="attest_ip"}'] == 2
    assert samples['trusted_auth_throttled_total{scope="authenticate_ip"}'] == 1
    assert (
        samples['trusted_auth_attests_total{outcome="throttled",error_type="too_many_requests"}']
        == 2
    )
    assert (
        samples[
            'trusted_auth_attests_total{outcome="failure",error_type="invalid_trusted_auth_token"}'
        ]
        == 1
    )
    assert AuditEvent.objects.count() == 1


def test_jwks_fetches_and_cache_hits(api, client, issuer, profile_factory, settings):
    configure(settings, METRICS_ENABLED=True)
    profile = profile_factory(jwks_url=issuer.url, can_jit_provision=True)
    for _ in range(3):
        token = issuer.signer.sign(default_claims())
        assert post_attest(api, profile.profile_id, token).status_code == 200
    samples = scrape(client)
    assert samples['trusted_auth_jwks_fetches_total{outcome="success"}'] == 1
    assert samples["trusted_auth_jwks_cache_hits_total"] == 2

    issuer.down = True
    down = profile_factory(jwks_url=issuer.url, can_jit_provision=True)
    response = post_attest(api, down.profile_id, issuer.signer.sign(default_claims()))
    assert response.json()["error_type"] == "jwks_unavailable"
    samples = scrape(client)
    assert samples['trusted_auth_jwks_fetches_total{outcome="failure"}'] == 1
    assert (
        samples['trusted_auth_attests_total{outcome="failure",error_type="jwks_unavailable"}'] == 1
    )


def test_the_admin_check_on_save_is_a_counted_fetch(client, issuer, settings):
    configure(settings, METRICS_ENABLED=True)
    preview_jwks(issuer.url)
    issuer.down = True
    with pytest.raises(JwksUnavailable):
        preview_jwks(issuer.url)

    samples = scrape(client)
    assert samples['trusted_auth_jwks_fetches_total{outcome="success"}'] == 1
    assert samples['trusted_auth_jwks_fetches_total{outcome="failure"}'] == 1


def test_an_unknown_error_type_is_counted_as_other(api, client, pem_profile, settings):
    """Labels have closed value sets: nothing a client sends can add a series."""
    configure(settings, METRICS_ENABLED=True)
    metrics.increment(metrics.ATTESTS, outcome="failure", error_type="made_up_by_a_plugin")
    metrics.increment(metrics.THROTTLED, scope="whatever")
    samples = scrape(client)
    assert samples['trusted_auth_attests_total{outcome="failure",error_type="other"}'] == 1
    assert samples['trusted_auth_throttled_total{scope="other"}'] == 1
