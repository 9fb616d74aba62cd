"""The admin lists at 1,400 px in Chromium (issue 30): no sideways scroll, ids shown short with a
copy button that copies the full id, a PEM profile's keys in its Keys section, and no Python
repr (``None``, ``True``, ``[]``) on any page. The browser fixtures of test_admin_browser.py;
skipped without Chromium unless CI is set.

Screenshots of the four pages go to ``artifacts/admin-screenshots/`` (or the folder named by
``ADMIN_SCREENSHOTS``).
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from playwright.sync_api import expect

from trusted_auth.identities.organizations import create_member, create_organization
from trusted_auth.models import (
    AuditEvent,
    ProfilePublicKey,
    Session,
    TrustedAuthTokenProfile,
    UserIdentity,
)
from trusted_auth.sessions.secrets import create_secret
from trusted_auth.sessions.signing_keys import current_signing_key

from .issuers import SigningPair
from .test_admin_browser import CHROMIUM, _log_in, browser  # noqa: F401 - fixtures

pytestmark = pytest.mark.browser

WIDTH = 1400
SCREENSHOTS = Path(
    os.environ.get("ADMIN_SCREENSHOTS")
    or Path(__file__).resolve().parents[1] / "artifacts" / "admin-screenshots"
)
# What a Python value looks like when it leaks into a page as its repr ("kid None", "[]",
# "['a']"); a choice label such as "None: only users this issuer is linked to" is words,
# TRUSTED_AUTH['ROLES'] a setting's name and ["verify"] JSON.
PYTHON_REPR = re.compile(r"\b(?:None|True|False)\b(?!:)|\[\]|\{\}|(?<![\w\]])\['|\(\)")
SUPABASE = "https://abcdefghijklmnopqrst.supabase.co/auth/v1"
AUTH0 = "https://acme-production.eu.auth0.com/"


@pytest.fixture
def page(browser, live_server):  # noqa: F811
    context = browser.new_context(viewport={"width": WIDTH, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page = context.new_page()
    page.set_default_timeout(20_000)
    expect.set_options(timeout=20_000)
    yield page
    context.close()


def shoot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def _session(user=None, member=None, organization=None, profile=None, **times) -> Session:
    now = timezone.now()
    return Session.objects.create(
        token_digest=hashlib.sha256(secrets.token_bytes(16)).hexdigest(),
        user=user,
        member=member,
        organization=organization,
        profile=profile,
        ip_address="203.0.113.45",
        user_agent="Stytch Python v14.2.0",
        started_at=times.get("started_at", now),
        expires_at=times.get("expires_at", now + timedelta(hours=1)),
        revoked_at=times.get("revoked_at"),
    )


@pytest.fixture
def realistic_rows(db):
    """What a deployment's lists hold: long issuers, emails and ids."""
    supabase = TrustedAuthTokenProfile.objects.create(
        name="Supabase (production)",
        issuer=SUPABASE,
        audience="authenticated",
        public_key_type=TrustedAuthTokenProfile.KeyType.JWK,
        jwks_url=f"{SUPABASE}/.well-known/jwks.json",
        attribute_mapping={"email": "email", "token_id": "session_id", "external_user_id": "sub"},
        can_jit_provision=True,
    )
    TrustedAuthTokenProfile.objects.create(
        name="Auth0 EU tenant, B2B customers",
        issuer=AUTH0,
        audience="https://api.acme-production.example.com/v2/",
        public_key_type=TrustedAuthTokenProfile.KeyType.JWK,
        jwks_url=f"{AUTH0}.well-known/jwks.json",
        attribute_mapping={"email": "email", "token_id": "jti", "organization_id": "org_id"},
    )
    pem = TrustedAuthTokenProfile.objects.create(
        name="Our own signer (PEM)",
        issuer="https://signer.internal.acme-production.example.com",
        audience="acme-web",
        public_key_type=TrustedAuthTokenProfile.KeyType.PEM,
        attribute_mapping={"email": "email", "token_id": "jti"},
    )
    for _ in range(2):
        ProfilePublicKey.objects.create(profile=pem, public_key_pem=SigningPair.rsa().public_pem)
    organization = create_organization(name="Analytical Engines Ltd", slug="analytical-engines")
    users = get_user_model().objects
    now = timezone.now()
    for n in range(6):
        email = f"ada.lovelace.{n}@analytical-engines-and-difference-machines.example.com"
        user = users.create_user(f"user-{n}", email)
        identity = UserIdentity.objects.create(django_user=user, email=email)
        session = _session(
            user=user,
            profile=supabase,
            revoked_at=now if n == 1 else None,
            expires_at=now - timedelta(minutes=5) if n == 2 else now + timedelta(hours=1),
        )
        AuditEvent.objects.create(
            action="attest",
            outcome=AuditEvent.Outcome.SUCCESS,
            profile=supabase,
            token_id=f"2f1c7e5a-{n}b4d-4c3e-9a8b-7d6e5f4a3b2c",
            subject=f"8a7b6c5d-4e3f-2a1b-0c9d-8e7f6a5b4c3{n}",
            user_id=identity.user_id,
            session_id=session.session_id,
            ip_address="2001:db8:85a3::8a2e:370:7334",
            user_agent="Stytch Python v14.2.0",
        )
        AuditEvent.objects.create(
            action="attest",
            outcome=AuditEvent.Outcome.FAILURE,
            error_type="identity_link_required",
            error_message="an account with this email exists but this issuer is not linked",
            profile=supabase,
            token_id=f"jti-{n}",
            subject=f"auth0|64f8a1b2c3d4e5f6a7b8c9d{n}",
            ip_address="203.0.113.45",
        )
    member = create_member(
        organization=organization, email="grace.hopper@analytical-engines.example.com"
    )
    _session(member=member, organization=organization, profile=supabase)
    AuditEvent.objects.create(
        action="b2b_attest",
        outcome=AuditEvent.Outcome.FAILURE,
        error_type="trusted_token_profile_not_found",
        requested_profile_id="ttp-00000000-0000-0000-0000-000000000000",
        ip_address="198.51.100.7",
    )
    create_secret("ci deploys")
    current_signing_key()
    return {"pem": pem, "member": member}


def assert_fits(page) -> None:
    """Neither the page nor any box in it (Django wraps a change list's table in a box that
    scrolls on its own) scrolls sideways."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= WIDTH, f"{page.url} scrolls sideways: {width} px wide"
    scrolling = page.evaluate(
        """() => [...document.querySelectorAll('#content *')]
                 .filter(e => ['auto', 'scroll'].includes(getComputedStyle(e).overflowX)
                              && e.scrollWidth > e.clientWidth + 1)
                 .map(e => `${e.tagName}.${e.className}: ${e.scrollWidth} > ${e.clientWidth}`)"""
    )
    assert not scrolling, f"{page.url}: {scrolling}"


def assert_no_python_repr(page) -> None:
    text = page.locator("#content").inner_text()
    leaked = PYTHON_REPR.findall(text)
    assert not leaked, f"{page.url} shows {leaked}:\n{text}"


def assert_copies(page, cell, full_id: str) -> None:
    """The cell shows a short id on one line, its title the full id; the button copies it."""
    shown = cell.locator(".ta-id").first
    assert shown.get_attribute("title") == full_id
    assert full_id.startswith(shown.inner_text().rstrip("…"))
    assert len(shown.inner_text()) < len(full_id)
    box = shown.bounding_box()
    line = float(shown.evaluate("e => parseFloat(getComputedStyle(e).lineHeight) || 20"))
    assert box is not None and box["height"] < 1.6 * line, f"{full_id} wraps: {box}"
    cell.locator("button.ta-copy").first.click()
    expect(cell.locator("button.ta-copy").first).to_have_attribute("data-copied", "true")
    assert page.evaluate("navigator.clipboard.readText()") == full_id


def test_the_lists_fit_1400_px_with_short_ids_that_copy(
    page, live_server, admin_user, realistic_rows
):
    base = live_server.url
    _log_in(page, base)

    page.goto(f"{base}/admin/trusted_auth/trustedauthtokenprofile/")
    expect(page.locator("#result_list")).to_be_visible()
    assert_fits(page)
    assert_no_python_repr(page)
    profile = TrustedAuthTokenProfile.objects.get(name="Supabase (production)")
    row = page.locator("#result_list tr", has_text="Supabase (production)")
    assert_copies(page, row.locator("td.field-short_profile_id"), profile.profile_id)
    shoot(page, "profile-list-1400")

    page.goto(f"{base}/admin/trusted_auth/session/")
    expect(page.locator("#result_list")).to_be_visible()
    assert_fits(page)
    assert_no_python_repr(page)
    session = Session.objects.filter(member__isnull=True).order_by("-started_at").first()
    assert session is not None
    cell = page.locator(f"#result_list [title='{session.session_id}']").locator("xpath=..")
    assert_copies(page, cell, session.session_id)
    # The short id still opens the session.
    cell.locator("a").first.click()
    expect(page).to_have_url(re.compile(re.escape(session.session_id)))
    page.go_back()
    shoot(page, "session-list-1400")

    page.goto(f"{base}/admin/trusted_auth/auditevent/")
    expect(page.locator("#result_list")).to_be_visible()
    assert_fits(page)
    assert_no_python_repr(page)
    event = AuditEvent.objects.exclude(user_id="").order_by("-created_at", "-id").first()
    assert event is not None
    cell = page.locator(f"#result_list [title='{event.user_id}']").locator("xpath=..")
    assert_copies(page, cell, event.user_id)
    shoot(page, "audit-list-1400")


def test_a_pem_profile_shows_its_keys_in_the_keys_section(
    page, live_server, admin_user, realistic_rows
):
    base = live_server.url
    pem = realistic_rows["pem"]
    _log_in(page, base)
    page.goto(f"{base}/admin/trusted_auth/trustedauthtokenprofile/{pem.profile_id}/change/")
    keys = page.locator("fieldset").filter(has=page.get_by_role("heading", name="Keys", exact=True))
    expect(keys).to_be_visible()
    assert "JWKS keys" not in keys.inner_text()
    # The PEM keys come right after the Keys fieldset, before the mapping and the policy.
    order = page.evaluate(
        """() => [...document.querySelectorAll('#content-main fieldset > h2, .inline-group h2')]
                 .map(h => h.textContent.trim())"""
    )
    titles = [title.split(" (")[0] for title in order]
    assert titles.index("Keys") + 1 == titles.index("PEM public keys"), order
    assert titles.index("PEM public keys") < titles.index("Attribute mapping"), order
    for key in pem.pem_keys.all():
        expect(page.locator(".inline-group", has_text=key.key_id).first).to_be_visible()
    assert_fits(page)
    assert_no_python_repr(page)
    shoot(page, "pem-profile-change-1400")


def test_the_dry_run_of_a_token_without_kid_shows_no_python_repr(
    page, live_server, admin_user, realistic_rows
):
    signer = SigningPair.rsa()
    pem = realistic_rows["pem"]
    ProfilePublicKey.objects.create(profile=pem, public_key_pem=signer.public_pem)
    token = signer.sign(
        {
            "iss": pem.issuer,
            "aud": pem.audience,
            "email": "ada@example.com",
            "jti": "jti-no-kid",
            "iat": int(timezone.now().timestamp()),
            "exp": int(timezone.now().timestamp()) + 300,
        },
        with_kid=False,
    )
    base = live_server.url
    _log_in(page, base)
    page.goto(f"{base}/admin/trusted_auth/trustedauthtokenprofile/{pem.profile_id}/test-token/")
    page.fill("textarea[name=token]", token)
    page.click("input[type=submit]")
    expect(page.locator("#content")).to_contain_text("no kid")
    assert_no_python_repr(page)
    assert_fits(page)


def test_no_page_of_the_admin_shows_a_python_repr(page, live_server, admin_user, realistic_rows):
    """Every trusted_auth list, and the change page of the first row of each."""
    base = live_server.url
    _log_in(page, base)
    page.goto(f"{base}/admin/trusted_auth/")
    links = page.locator("#content-main a").evaluate_all("as => as.map(a => a.href)")
    lists = [
        href
        for href in dict.fromkeys(links)
        if href.endswith("/") and "/add/" not in href and href != f"{base}/admin/trusted_auth/"
    ]
    assert len(lists) >= 8, lists
    visited = []
    for url in lists:
        page.goto(url)
        assert_no_python_repr(page)
        first = page.locator("#result_list tbody tr a[href*='/change/']").first
        if first.count():
            first.click()
            page.wait_for_load_state()
            assert_no_python_repr(page)
            visited.append(page.url)
    assert len(visited) >= 8, visited  # every list but the overview has a first row
