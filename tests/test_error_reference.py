"""Every ``error_type`` the code can emit is documented: in the error catalog (which the served
Errors page renders), in the documentation site's Errors table with its own anchor (generated
from the catalog by ``docs/_ext``), and in the OpenAPI document's enum. ``error_url`` points at
the entry for the error."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
import yaml

from trusted_auth.api.docs_views import openapi_document
from trusted_auth.error_catalog import ERRORS, error_url

PACKAGE = Path(__file__).resolve().parent.parent / "trusted_auth"
DOCS = PACKAGE.parent / "docs"


def docs_errors_table() -> str:
    """The Errors table as the documentation site renders it (``docs/_ext``)."""
    spec = importlib.util.spec_from_file_location(
        "trusted_auth_docs", DOCS / "_ext" / "trusted_auth_docs.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.errors_markdown()


DOCS_ERRORS = docs_errors_table()

# Every way the code names an error type: a class attribute, a keyword argument, the DRF
# exception map, or a positional argument of the envelope builders.
EMITTERS = [
    re.compile(r'error_type\s*=\s*"([a-z_]+)"'),
    re.compile(r'exceptions\.\w+:\s*"([a-z_]+)"'),
    re.compile(r'(?:error_response|_error)\(\s*\d+,\s*"([a-z_]+)"'),
]
# Named by H1 and the lead on their branches; documented ahead of the merge.
AGREED = {"service_unavailable", "identity_link_required"}


def emitted_error_types() -> set[str]:
    found: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        text = path.read_text()
        for pattern in EMITTERS:
            found.update(pattern.findall(text))
    return found


def test_the_grep_finds_the_error_types_it_should():
    """Guards the patterns: known emitters of each form are found."""
    found = emitted_error_types()
    assert {
        "invalid_trusted_auth_token",  # class attribute (errors.py)
        "jwt_invalid_issuer",  # keyword argument
        "method_not_allowed",  # DRF exception map
        "internal_server_error",  # envelope.error_answer: error_type = "…"
        "cross_site_request",  # browser.py: TrustedAuthError(…, error_type="…")
        "duplicate_email",
    } <= found


def test_the_docs_errors_page_includes_the_generated_table():
    assert "```{include} ../_generated/errors.md" in (DOCS / "reference" / "errors.md").read_text()


def test_every_emitted_error_type_is_in_the_catalog_docs_and_openapi():
    enum = set(
        yaml.safe_load(openapi_document())["components"]["schemas"]["ErrorResponse"]["properties"][
            "error_type"
        ]["enum"]
    )
    documented = set(re.findall(r'<a id="([a-z_]+)"></a>`\1`', DOCS_ERRORS))

    for error_type in sorted(emitted_error_types() | AGREED):
        assert error_type in ERRORS, f"{error_type}: add it to trusted_auth/error_catalog.py"
        assert error_type in documented, f"{error_type}: missing from the docs' Errors page"
        assert error_type in enum, f"{error_type}: add it to openapi.yaml ErrorResponse enum"
    assert set(ERRORS) == enum == documented  # and nothing documented is stale


@pytest.mark.parametrize("error_type", sorted(ERRORS))
def test_the_docs_row_states_the_catalog_status(error_type):
    row = next(line for line in DOCS_ERRORS.splitlines() if f'<a id="{error_type}"></a>' in line)
    assert f"| {ERRORS[error_type].status} |" in row


def test_error_url_points_at_the_served_reference_by_default(settings, client):
    settings.TRUSTED_AUTH = {**settings.TRUSTED_AUTH, "ISSUER": "https://auth.example.com"}
    assert error_url("user_not_found") == (
        "https://auth.example.com/trusted_auth/errors#user_not_found"
    )

    page = client.get("/trusted_auth/errors").content.decode()

    for error_type, info in ERRORS.items():
        assert f'<section id="{error_type}">' in page
        assert f"HTTP {info.status}" in page


def test_error_docs_url_setting_moves_every_error_url(settings, api):
    settings.TRUSTED_AUTH = {
        **settings.TRUSTED_AUTH,
        "ERROR_DOCS_URL": "https://docs.example.com/auth/errors",
    }

    body = api.get("/v1/users/user-nobody").json()

    assert body["error_url"] == "https://docs.example.com/auth/errors#user_not_found"


@pytest.mark.django_db
def test_error_bodies_link_to_their_own_entry(api, client):
    bodies = [
        api.get("/v1/users/user-nobody").json(),
        client.post("/v1/users", {}, content_type="application/json").json(),
        api.get("/v1/no/such/path").json(),
    ]

    for body in bodies:
        assert body["error_url"].endswith(f"/trusted_auth/errors#{body['error_type']}")
