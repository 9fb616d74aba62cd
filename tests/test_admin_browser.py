"""The admin dashboard end to end in a real headless Chromium (Playwright, Debian's chromium).

Logs in, creates a PEM profile through the form (first with a private key, refused next to the
field), tests a valid and an expired token, revokes a session, and finds the failed attest in
the audit log from the profile page. Each page is saved as a screenshot under
``artifacts/admin-screenshots/``.

Every check of a page goes through Playwright's auto-waiting ``expect(...)``: after a click the
next page may not have loaded yet, and reading it at once reads the old one (which failed these
tests on a busy machine).

Without /usr/bin/chromium the tests are skipped, unless ``CI`` is set: CI must run them.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import random
import re
import time
from pathlib import Path

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from django.contrib.auth import get_user_model
from django.utils import timezone
from playwright.sync_api import expect

from trusted_auth.models import AuditEvent, Session, TrustedAuthTokenProfile
from trusted_auth.sessions.secrets import create_secret

from .issuers import AUDIENCE, ISSUER, SigningPair, default_claims

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[1] / "artifacts" / "admin-screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing (apt-get install chromium chromium-driver)"
        if os.environ.get("CI"):
            pytest.fail(message + "; CI must run the browser tests")
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in the test thread; Django's ORM would refuse to
    # run next to it (SynchronousOnlyOperation). The documented workaround for Playwright +
    # Django, limited to these tests:
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


def _log_in(page, base: str) -> None:
    page.goto(f"{base}/admin/login/?next=/admin/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", "password")
    page.click("input[type=submit]")
    expect(page).to_have_url(f"{base}/admin/")


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)
    expect.set_options(timeout=20_000)  # the same patience for every auto-waiting assertion
    yield page
    context.close()


@pytest.fixture
def shoot(page):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(name: str) -> None:
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

    return take


def _private_pem(signer) -> str:
    return signer.private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def test_security_engineer_journey(
    page, shoot, live_server, admin_user, signer, token_factory, settings
):
    base = live_server.url
    # Log in.
    page.goto(f"{base}/admin/login/?next=/admin/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", "password")
    shoot("01-login")
    page.click("input[type=submit]")
    expect(page.locator("text=Trusted auth token profiles").first).to_be_visible()
    shoot("02-dashboard")

    # Create a PEM profile: a private key is refused next to the key field.
    page.goto(f"{base}/admin/trusted_auth/trustedauthtokenprofile/add/")
    page.fill("#id_name", "Our signer")
    page.fill("#id_issuer", ISSUER)
    page.fill("#id_audience", AUDIENCE)
    page.check("input[name=public_key_type][value=PEM]")
    page.fill("#id_map_external_user_id", "sub")
    page.check("#id_can_jit_provision")
    page.fill("#id_pem_keys-0-public_key_pem", _private_pem(signer))
    page.click("input[name=_save]")
    expect(page.locator(".inline-group .errorlist").first).to_contain_text("this is a PRIVATE key")
    assert not TrustedAuthTokenProfile.objects.exists()
    shoot("03-profile-private-key-refused")
    page.fill("#id_pem_keys-0-public_key_pem", signer.public_pem)
    page.click("input[name=_save]")
    expect(page.locator("ul.messagelist li.success")).to_be_visible()
    profile = TrustedAuthTokenProfile.objects.get()
    assert profile.pem_keys.count() == 1
    shoot("04-profile-list")

    page.click(f"text={profile.name}")
    expect(page.locator("#trustedauthtokenprofile_form")).to_contain_text("RSA 2048")
    shoot("05-profile-change")

    # Test a token: a valid one passes every check, an expired one fails with its reason.
    page.locator(".object-tools >> text=Test a token").click()
    page.fill("#id_token", token_factory(email="ada@example.com"))
    page.click("text=Run every check")
    expect(page.locator("#verdict")).to_contain_text("The token passes every check.")
    expect(page.locator("#mapped-attributes")).to_contain_text("ada@example.com")
    shoot("06-test-token-valid")
    now = int(time.time())
    page.fill("#id_token", token_factory(iat=now - 4000, exp=now - 3600))
    page.click("text=Run every check")
    # The page before had a #verdict too: wait for the new one.
    expect(page.locator("#verdict")).to_contain_text("Refused at")
    expect(page.locator("#verdict")).to_contain_text("jwt_invalid_claims")
    expect(page.locator("#checks td.fail")).to_have_count(1)
    shoot("07-test-token-expired")
    assert not Session.objects.exists() and not AuditEvent.objects.exists()

    # Real attests over HTTP: one session, one failure.
    secret = create_secret("browser test").clear_text
    auth = (settings.TRUSTED_AUTH["PROJECT_ID"], secret)
    ok = requests.post(
        f"{base}/v1/sessions/attest",
        auth=auth,
        timeout=10,
        json={
            "profile_id": profile.profile_id,
            "token": token_factory(email="ada@example.com"),
            "session_duration_minutes": 60,
        },
    )
    assert ok.status_code == 200, ok.text
    refused = requests.post(
        f"{base}/v1/sessions/attest",
        auth=auth,
        timeout=10,
        json={
            "profile_id": profile.profile_id,
            "token": token_factory(iat=now - 4000, exp=now - 3600),
        },
    )
    assert refused.json()["error_type"] == "jwt_invalid_claims"

    # Revoke the session.
    session = Session.objects.get()
    page.goto(f"{base}/admin/trusted_auth/session/?state=live")
    # The list shows the id short, the full id in its title (and on its copy button).
    expect(page.locator(f"#result_list [title='{session.session_id}']")).to_be_visible()
    shoot("08-sessions")
    page.check(f"input.action-select[value='{session.pk}']")
    page.select_option("select[name=action]", "revoke_selected")
    page.click("button[name=index]")
    expect(page.locator("ul.messagelist")).to_contain_text("Revoked 1 session.")
    shoot("09-session-revoked")
    session.refresh_from_db()
    assert session.revoked_at is not None

    # The failed attest, two clicks from the profile page.
    page.goto(f"{base}/admin/trusted_auth/trustedauthtokenprofile/{profile.pk}/change/")
    page.locator(".object-tools >> text=Failed attests").click()
    expect(page).to_have_url(re.compile(r"/auditevent/\?"))
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("jwt_invalid_claims")
    shoot("10-audit-failures")
    rows.first.locator("th a").click()
    expect(page.locator("text=token expired at")).to_be_visible()
    expect(page.locator("#content")).to_contain_text("jwt_invalid_claims")
    shoot("11-audit-event")

    page.goto(f"{base}/admin/trusted_auth/signingkey/")
    expect(page.locator("#key-rotation")).to_be_visible()
    shoot("12-signing-keys")


def test_jwks_profile_lists_the_fetched_keys(page, shoot, live_server, admin_user, issuer):
    base = live_server.url
    _log_in(page, base)
    page.goto(f"{base}/admin/trusted_auth/trustedauthtokenprofile/add/")
    page.fill("#id_name", "Supabase")
    page.fill("#id_issuer", ISSUER)
    page.fill("#id_audience", AUDIENCE)
    page.check("input[name=public_key_type][value=JWK]")
    page.fill("#id_jwks_url", issuer.url.replace("https://", "http://"))
    page.click("input[name=_continue]")
    expect(page.locator(".field-jwks_url .errorlist")).to_contain_text("JWKS URL must use https")
    shoot("13-jwks-url-refused")
    page.fill("#id_jwks_url", issuer.url)
    page.click("input[name=_continue]")
    expect(page.locator("ul.messagelist")).to_contain_text(issuer.signer.kid)
    expect(page.locator(".field-jwks_keys table")).to_contain_text(issuer.signer.kid)
    shoot("14-jwks-profile-keys")


def test_organization_shows_members_and_sessions(page, shoot, live_server, admin_user, pem_profile):
    from datetime import timedelta

    from django.utils import timezone

    from trusted_auth.identities.organizations import create_member, create_organization

    organization = create_organization(name="Acme", slug="acme", email_allowed_domains=["acme.com"])
    member = create_member(organization=organization, email="ada@acme.com", roles=["stytch_admin"])
    session = Session.objects.create(
        token_digest="e" * 64,
        member=member,
        organization=organization,
        profile=pem_profile,
        expires_at=timezone.now() + timedelta(hours=1),
    )
    _log_in(page, live_server.url)
    page.goto(f"{live_server.url}/admin/trusted_auth/organization/{organization.pk}/change/")
    expect(page.locator("#content")).to_contain_text(member.member_id)
    expect(page.locator("#content")).to_contain_text(session.session_id)
    shoot("15-organization")
    page.locator(".field-member_link a").first.click()
    expect(page.locator("input[name=roles][value=stytch_admin]")).to_be_checked()
    shoot("16-member")


# --- The Overview page, with real attests in it -------------------------------------------------
# The attests of the last minutes go through the HTTP API of the live server; the earlier hours
# are audit rows and sessions moved back in time, so the charts have a day to show. Saved as
# artifacts/admin-screenshots/20-overview.png.


def _backfill_history(profile, other) -> None:
    rng = random.Random(16)
    now = timezone.now()
    reasons = ["jwt_invalid_claims", "jwt_invalid_issuer", "trusted_token_replayed"]
    for hours_ago in range(1, 24):
        at = (now - dt.timedelta(hours=hours_ago)).replace(minute=rng.randint(0, 59))
        busy = 6 + int(10 * abs(12 - hours_ago) / 12)
        rows = [AuditEvent(outcome="success", profile=profile) for _ in range(busy)]
        rows += [
            AuditEvent(
                outcome="failure",
                error_type=rng.choice(reasons) if rng.random() < 0.7 else "user_not_found",
                profile=rng.choice([profile, other]),
            )
            for _ in range(rng.randint(0, 4))
        ]
        created = AuditEvent.objects.bulk_create(rows)
        AuditEvent.objects.filter(pk__in=[r.pk for r in created]).update(created_at=at)
    user = get_user_model().objects.create_user("history")
    for i in range(40):
        started = now - dt.timedelta(hours=rng.randint(1, 23), minutes=rng.randint(0, 59))
        Session.objects.create(
            token_digest=f"{i:064x}",
            user=user,
            profile=profile,
            expires_at=started + dt.timedelta(hours=rng.choice([1, 2, 4, 8])),
        )
        Session.objects.filter(token_digest=f"{i:064x}").update(started_at=started)


def test_the_overview_page_with_real_attests(
    page, live_server, admin_user, pem_profile, token_factory, profile_factory, issuer, settings
):
    from playwright.sync_api import expect

    settings.TRUSTED_AUTH = {**settings.TRUSTED_AUTH, "ISSUER": live_server.url}
    secret = create_secret("overview").clear_text
    basic = base64.b64encode(f"{settings.TRUSTED_AUTH['PROJECT_ID']}:{secret}".encode()).decode()
    healthy = profile_factory(name="Supabase (JWKS)", jwks_url=issuer.url, can_jit_provision=True)
    broken = profile_factory(name="Okta (JWKS down)", jwks_url="https://127.0.0.1:9/keys")
    _backfill_history(pem_profile, healthy)
    now = int(time.time())
    attempts = [(pem_profile, token_factory(email=f"u{i}@example.com")) for i in range(5)]
    attempts += [(pem_profile, token_factory(iat=now - 900, exp=now - 600)) for _ in range(2)]
    attempts += [(healthy, issuer.signer.sign(default_claims(email="s@example.com")))]
    attempts += [(broken, SigningPair.rsa().sign(default_claims()))]
    outcomes = []
    for profile, token in attempts:
        response = requests.post(
            f"{live_server.url}/v1/sessions/attest",
            json={"profile_id": profile.profile_id, "token": token, "session_duration_minutes": 60},
            headers={"Authorization": f"Basic {basic}"},
            timeout=30,
        )
        outcomes.append(response.status_code)
    assert outcomes == [200] * 5 + [401, 401, 200, 503]

    _log_in(page, live_server.url)
    page.goto(f"{live_server.url}/admin/")
    page.get_by_role("link", name="Overview").first.click()
    expect(page.locator("#chart-attests svg rect").first).to_be_visible()
    expect(page.locator("#live-now")).to_have_text(
        str(Session.objects.filter(revoked_at__isnull=True, expires_at__gt=timezone.now()).count())
    )
    expect(page.locator("#failed-attests")).not_to_have_text("0")
    expect(page.locator("#top-failures")).to_contain_text("jwt_invalid_claims")
    expect(page.locator("#jwks-health")).to_contain_text("Okta (JWKS down)")
    expect(page.locator("#jwks-health")).to_contain_text("JWKS fetch failed")
    expect(page.locator("#jwks-health")).to_contain_text("fresh")
    expect(page.locator("#signing-keys")).to_contain_text("current")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "20-overview.png"), full_page=True)
