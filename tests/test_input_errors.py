"""A 4xx is a 4xx (issue 26 item 8): what a request's own values make the database refuse is a
400 naming the field, never the 503 of a database that is down.

Searches within the documented caps (50 operands, 1,000 values each) build one expression per
operand, never one per value (SQLite's expression depth stops at 1,000); and
``internal.dependencies`` tells an input-caused database error (expression too deep, too many
SQL variables, a value too long) from a connection-level one (refused, lost, restarting,
``database is locked``, timeouts).
"""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager

import pytest
from django.db import DatabaseError, OperationalError, connection, transaction
from django.db.models import Q

from trusted_auth.errors import BadRequest
from trusted_auth.identities import organizations
from trusted_auth.internal.dependencies import input_error, is_dependency_error
from trusted_auth.models import Organization

from .test_b2b import B2B_MAPPING, post_b2b

pytestmark = pytest.mark.django_db

MANY = 1000


def query(operator: str, *operands: tuple[str, object]) -> dict:
    return {
        "operator": operator,
        "operands": [{"filter_name": name, "filter_value": value} for name, value in operands],
    }


def test_an_organization_search_with_1000_allowed_domains_answers(api):
    acme = organizations.create_organization(
        name="Acme", slug="acme", email_allowed_domains=["acme.example", "acme.test"]
    )
    organizations.create_organization(name="Beta", slug="beta", email_allowed_domains=["beta.x"])
    domains = [f"d{i}.example" for i in range(MANY - 1)] + ["ACME.test"]

    response = api.post(
        "/v1/b2b/organizations/search",
        {"query": query("AND", ("allowed_domains", domains))},
        format="json",
    )

    body = response.json()
    assert response.status_code == 200, body
    assert [o["organization_id"] for o in body["organizations"]] == [acme.organization_id]


def test_a_member_search_with_two_times_1000_roles_answers(api, settings):
    roles = [f"role-{i}" for i in range(2 * MANY)]
    settings.TRUSTED_AUTH = {**settings.TRUSTED_AUTH, "ROLES": roles[-3:]}
    org = organizations.create_organization(name="Acme", slug="acme")
    editor = organizations.create_member(
        organization=org, email="ed@acme.example", roles=[roles[-1]]
    )
    organizations.create_member(organization=org, email="no@acme.example", roles=[roles[-2]])

    response = api.post(
        "/v1/b2b/organizations/members/search",
        {
            "organization_ids": [org.organization_id],
            "query": query(
                "OR", ("member_roles", roles[:MANY]), ("member_roles", roles[MANY:-2] + roles[-1:])
            ),
        },
        format="json",
    )

    body = response.json()
    assert response.status_code == 200, body
    assert [m["member_id"] for m in body["members"]] == [editor.member_id]


def test_a_role_search_matches_whole_role_ids_only(api, settings):
    settings.TRUSTED_AUTH = {**settings.TRUSTED_AUTH, "ROLES": ["admin", "admin-lite"]}
    org = organizations.create_organization(name="Acme", slug="acme")
    lite = organizations.create_member(
        organization=org, email="lite@acme.example", roles=["admin-lite"]
    )

    def search(role: str) -> list[str]:
        body = api.post(
            "/v1/b2b/organizations/members/search",
            {
                "organization_ids": [org.organization_id],
                "query": query("AND", ("member_roles", [role])),
            },
            format="json",
        ).json()
        return [m["member_id"] for m in body["members"]]

    assert search("admin") == [] and search("admin-lite") == [lite.member_id]
    assert search("lite") == [] and search('admin-lite", "x') == []


@contextmanager
def sqlite_variable_limit(limit: int):
    """A SQLite built with the default limit of variables per statement (32766 since 3.32;
    Debian's is 250000), on this test's connection."""
    connection.ensure_connection()
    raw = connection.connection
    before = raw.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    raw.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, limit)
    try:
        yield
    finally:
        raw.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, before)


def test_a_search_with_more_values_than_the_database_takes_is_a_400_naming_the_query(api):
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's per-statement variable limit")
    organizations.create_organization(name="Acme", slug="acme")
    ids = [f"organization-{i}" for i in range(MANY)]

    with sqlite_variable_limit(999):
        response = api.post(
            "/v1/b2b/organizations/search",
            {"query": query("OR", ("organization_ids", ids), ("organization_slugs", ids))},
            format="json",
        )

    body = response.json()
    assert (response.status_code, body["error_type"]) == (400, "bad_request"), body
    assert "query" in body["error_message"] and "too many values" in body["error_message"]


def test_a_jit_organization_from_a_long_claim_is_created_not_a_5xx(
    api, profile_factory, signer, token_factory
):
    """The claim may be 256 characters; the organization's name holds 200 (PostgreSQL refuses a
    longer value, which answered 503 as if the database were down)."""
    profile = profile_factory(
        pem_keys=[signer.public_pem],
        attribute_mapping=B2B_MAPPING,
        can_jit_provision=True,
        can_jit_create_organizations=True,
    )
    claimed = "tenant-" + "x" * 249

    response = post_b2b(api, profile.profile_id, token_factory(org=claimed))

    assert response.status_code == 200, response.json()
    organization = Organization.objects.get()
    assert (organization.external_id, len(organization.name)) == (claimed, 200)


# --- the classification, on real database errors ----------------------------------------------


def database_error(make) -> DatabaseError:
    """The error the database raises for ``make()``, inside a savepoint."""
    with pytest.raises(DatabaseError) as raised, transaction.atomic():
        make()
    return raised.value


def test_an_expression_too_deep_is_input_not_an_outage():
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's expression depth limit")
    condition = Q(pk__in=[])
    for i in range(MANY + 100):
        condition |= Q(name__icontains=f"n{i}")

    error = database_error(lambda: list(Organization.objects.filter(condition)))

    assert not is_dependency_error(error)
    client_error = input_error(error, field="query")
    assert isinstance(client_error, BadRequest)
    assert client_error.message == "query is too complex for one database query"


def test_a_value_too_long_is_input_not_an_outage():
    if connection.vendor != "postgresql":
        pytest.skip("SQLite does not enforce max_length")

    error = database_error(lambda: Organization.objects.create(name="n" * 300, slug="s"))

    assert not is_dependency_error(error)
    client_error = input_error(error)
    assert isinstance(client_error, BadRequest) and "longer than" in client_error.message


def test_a_locked_or_lost_database_is_still_an_outage():
    locked = OperationalError("database is locked")
    lost = OperationalError("server closed the connection unexpectedly")

    assert is_dependency_error(locked) and input_error(locked) is None
    assert is_dependency_error(lost) and input_error(lost) is None
