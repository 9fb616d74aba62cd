"""The profile add page's Discover button in Chromium: type an issuer URL, click Discover, see
what was found and the filled-in fields, then save (the browser fixtures of
test_admin_browser.py; skipped without Chromium unless CI is set)."""

from __future__ import annotations

import json

import pytest

from trusted_auth.models import TrustedAuthTokenProfile

from .scripted_server import send_body
from .test_admin_browser import _log_in, browser, page, shoot  # noqa: F401 - fixtures

pytestmark = pytest.mark.browser


def test_discover_fills_the_add_form(page, shoot, live_server, admin_user, issuer, scripted_server):  # noqa: F811
    def respond(server, handler) -> None:
        url = f"https://127.0.0.1:{server.httpd.server_address[1]}/realms/acme"
        body = {
            "issuer": url,
            "jwks_uri": issuer.url,
            "id_token_signing_alg_values_supported": ["RS256", "ES256"],
            "claims_supported": ["sub", "email", "name"],
        }
        send_body(handler, json.dumps(body).encode())

    server = scripted_server(respond)
    issuer_url = f"https://127.0.0.1:{server.httpd.server_address[1]}/realms/acme"
    base = live_server.url
    _log_in(page, base)
    page.goto(f"{base}/admin/trusted_auth/trustedauthtokenprofile/add/")
    page.fill("#id_discover", issuer_url)
    page.click("#discover-submit")
    page.wait_for_selector("ul.messagelist li.info")
    assert f"names issuer {issuer_url}" in page.locator("ul.messagelist").inner_text()
    assert page.input_value("#id_issuer") == issuer_url
    assert page.input_value("#id_jwks_url") == issuer.url
    assert page.is_checked("input[name=algorithms][value=ES256]")
    assert not TrustedAuthTokenProfile.objects.exists()
    shoot("15-profile-discovered")
    page.fill("#id_audience", "my-app")
    page.click("input[name=_continue]")
    page.wait_for_selector("ul.messagelist li.success")
    assert TrustedAuthTokenProfile.objects.get().jwks_url == issuer.url
