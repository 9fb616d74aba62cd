"""Admin search paths that stay on indexes at a million rows (issue 13; bench/scale_1m.py has
the numbers): each search still finds what its help text promises, and the session or event
query itself carries no ``LIKE`` or ``UPPER`` that would scan the table."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from trusted_auth.attest import AttestRequest, attest
from trusted_auth.audit.events import RequestContext
from trusted_auth.identities.organizations import create_organization
from trusted_auth.models import AuditEvent

from .test_b2b import B2B_MAPPING
from .test_lifecycle import start_member


def attested(profile, token_factory, email: str, ip: str = "192.0.2.1"):
    return attest(
        AttestRequest(
            profile_id=profile.profile_id,
            token=token_factory(email=email),
            session_duration_minutes=60,
            context=RequestContext(ip_address=ip, user_agent="tests"),
        )
    )


def found(admin_client, url: str, term: str, table: str) -> str:
    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get(url, {"q": term})
    assert response.status_code == 200
    on_table = [q["sql"] for q in queries.captured_queries if f'FROM "{table}"' in q["sql"]]
    assert on_table
    for sql in on_table:
        assert "LIKE" not in sql and "UPPER(" not in sql and "HOST(" not in sql, sql
    return response.content.decode()


def test_session_search_finds_owners_and_ids_without_scanning(
    admin_client, pem_profile, token_factory
):
    ada = attested(pem_profile, token_factory, "ada@example.com")
    grace = attested(pem_profile, token_factory, "grace@example.com")
    url = reverse("admin:trusted_auth_session_changelist")
    table = "trusted_auth_session"

    for term in ("ada@", "ADA@EXAMPLE", ada.identity.user_id, ada.session.session_id):
        page = found(admin_client, url, term, table)
        assert ada.session.session_id in page and grace.session.session_id not in page, term
    page = found(admin_client, url, "nobody@", table)
    assert ada.session.session_id not in page and grace.session.session_id not in page


def test_session_search_finds_members(admin_client, api, profile_factory, token_factory, signer):
    organization = create_organization(name="Acme", slug="acme")
    profile = profile_factory(
        pem_keys=[signer.public_pem], attribute_mapping=B2B_MAPPING, can_jit_provision=True
    )
    b2b = start_member(
        api,
        profile,
        token_factory,
        organization,
        claims={"email": "member@acme.example", "org": organization.organization_id},
    )
    member_session = b2b["member_session"]["member_session_id"]
    url = reverse("admin:trusted_auth_session_changelist")
    for term in ("member@acme", b2b["member"]["member_id"]):
        assert member_session in found(admin_client, url, term, "trusted_auth_session"), term


def test_audit_search_is_exact_and_indexed(admin_client, pem_profile, token_factory):
    ada = attested(pem_profile, token_factory, "ada@example.com", ip="198.51.100.7")
    attested(pem_profile, token_factory, "grace@example.com", ip="203.0.113.9")
    event = AuditEvent.objects.get(session_id=ada.session.session_id)
    url = reverse("admin:trusted_auth_auditevent_changelist")
    table = "trusted_auth_auditevent"

    for term in (
        event.token_id,
        event.subject,
        ada.identity.user_id,
        event.session_id,
        "198.51.100.7",
    ):
        page = found(admin_client, url, term, table)
        assert page.count("198.51.100.7") >= 1 and "203.0.113.9" not in page, term
    page = found(admin_client, url, pem_profile.profile_id, table)
    assert "198.51.100.7" in page and "203.0.113.9" in page  # both asked for that profile
    page = found(admin_client, url, "not-an-ip-or-id", table)
    assert "198.51.100.7" not in page and "203.0.113.9" not in page


def test_list_counts_stop_at_the_cap(admin_client, pem_profile, token_factory, monkeypatch):
    from trusted_auth.admin import paging

    for n in range(4):
        attested(pem_profile, token_factory, f"user{n}@example.com")
    url = reverse("admin:trusted_auth_session_changelist")
    assert admin_client.get(url).context["cl"].result_count == 4
    monkeypatch.setattr(paging, "COUNT_CAP", 3)
    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get(url)
    assert response.context["cl"].result_count == 3
    counts = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"]]
    assert counts and all("LIMIT 3" in sql for sql in counts), counts


def test_the_error_type_filter_offers_recent_error_types(admin_client, db):
    for error_type in ("jwt_invalid_audience", "user_not_found", "", "jwt_invalid_audience"):
        AuditEvent.objects.create(
            outcome="failure" if error_type else "success", error_type=error_type
        )
    url = reverse("admin:trusted_auth_auditevent_changelist")
    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get(url, {"error_type": "user_not_found"})
    assert response.status_code == 200
    assert response.context["cl"].result_count == 1
    [error_filter] = [f for f in response.context["cl"].filter_specs if f.title == "error type"]
    assert [c for c, _ in error_filter.lookup_choices] == ["jwt_invalid_audience", "user_not_found"]
    assert not [q for q in queries.captured_queries if "DISTINCT" in q["sql"]]


def test_session_search_by_profile_or_organization_id(
    admin_client, api, pem_profile, profile_factory, token_factory, signer
):
    ada = attested(pem_profile, token_factory, "ada@example.com")
    organization = create_organization(name="Acme", slug="acme")
    b2b_profile = profile_factory(
        pem_keys=[signer.public_pem], attribute_mapping=B2B_MAPPING, can_jit_provision=True
    )
    b2b = start_member(
        api,
        b2b_profile,
        token_factory,
        organization,
        claims={"email": "member@acme.example", "org": organization.organization_id},
    )
    member_session = b2b["member_session"]["member_session_id"]
    url = reverse("admin:trusted_auth_session_changelist")
    table = "trusted_auth_session"
    page = found(admin_client, url, pem_profile.profile_id, table)
    assert ada.session.session_id in page and member_session not in page
    page = found(admin_client, url, organization.organization_id, table)
    assert member_session in page and ada.session.session_id not in page
