"""Rate limits on attest and authenticate: 429 ``too_many_requests`` with ``Retry-After``.

Throttles count in the Django cache, so one limit holds for every worker sharing it: shown here
with a file cache and a second Python process.
"""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import redis
from django.core.cache import caches
from django.core.checks import Error, Warning
from django.test import Client, RequestFactory
from rest_framework.test import APIClient

from trusted_auth.api.throttling import AuthenticateIPThrottle
from trusted_auth.checks import check_settings
from trusted_auth.conf import DEFAULTS
from trusted_auth.internal.http import client_ip
from trusted_auth.models import AuditEvent, Session

from .test_attest_rejections import ENVELOPE_FIELDS, post_attest

AUTHENTICATE = "/v1/sessions/authenticate"
DAY = 24 * 3600


def attest_from(api, profile_id: str, token: str, **request: Any):
    """An attest whose WSGI environment has ``request`` (REMOTE_ADDR, HTTP_X_FORWARDED_FOR…)."""
    return api.post(
        "/v1/sessions/attest", {"profile_id": profile_id, "token": token}, format="json", **request
    )


def rates(settings, **values: Any) -> None:
    settings.TRUSTED_AUTH = {**settings.TRUSTED_AUTH, "THROTTLE_RATES": values}


def assert_throttled(response) -> dict:
    body = response.json()
    assert response.status_code == 429, body
    assert ENVELOPE_FIELDS <= body.keys()
    assert (body["status_code"], body["error_type"]) == (429, "too_many_requests")
    assert body["request_id"].startswith("request-id-")
    # The tests use per-day limits: a window boundary (midnight UTC) falling between a test's
    # requests is as good as impossible, so a window never resets under a test's feet.
    # Retry-After is the time left in the current day's window.
    left = DAY - time.time() % DAY
    assert left - 2 <= int(response["Retry-After"]) <= left + 2
    return body


def test_attest_is_limited_per_client_ip(api, pem_profile, token_factory, settings):
    rates(settings, attest_ip="3/d", attest_profile=None)
    for _ in range(3):
        ok = post_attest(api, pem_profile.profile_id, token_factory(), session_duration_minutes=60)
        assert ok.status_code == 200, ok.json()
    events = AuditEvent.objects.count()

    assert_throttled(
        post_attest(api, pem_profile.profile_id, token_factory(), session_duration_minutes=60)
    )
    # Refused before anything is read: no session, and no audit row a flood could pile up.
    assert Session.objects.count() == 3
    assert AuditEvent.objects.count() == events

    # Another client address has its own allowance.
    other = attest_from(api, pem_profile.profile_id, token_factory(), REMOTE_ADDR="203.0.113.7")
    assert other.status_code == 200, other.json()


def test_failed_attests_use_the_allowance_too(api, pem_profile, settings):
    """A flood of garbage is limited like a flood of good tokens."""
    rates(settings, attest_ip="2/d", attest_profile=None)
    for _ in range(2):
        assert post_attest(api, pem_profile.profile_id, "a.b.c").status_code == 401
    assert_throttled(post_attest(api, pem_profile.profile_id, "a.b.c"))
    assert AuditEvent.objects.count() == 2


def behind_proxies(settings, count: int, header: str = "HTTP_X_FORWARDED_FOR") -> None:
    settings.TRUSTED_AUTH = {
        **settings.TRUSTED_AUTH,
        "CLIENT_IP_HEADER": header,
        "TRUSTED_PROXY_COUNT": count,
    }


def test_behind_one_proxy_the_client_is_the_entry_it_appended(
    api, pem_profile, token_factory, settings
):
    """Behind a proxy every request has the proxy's REMOTE_ADDR; the proxy appends the address
    it saw to X-Forwarded-For. What stands left of that entry is the client's own writing: a
    fresh forged entry per request must not buy a fresh allowance (issue 26 item 4)."""
    rates(settings, attest_ip="1/d", attest_profile=None)
    behind_proxies(settings, 1)
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    first = attest_from(
        api, pem_profile.profile_id, token_factory(), HTTP_X_FORWARDED_FOR="198.51.100.1", **proxy
    )
    assert first.status_code == 200, first.json()
    # The same client writes a different address in front: still the same client.
    assert_throttled(
        attest_from(
            api,
            pem_profile.profile_id,
            token_factory(),
            HTTP_X_FORWARDED_FOR="192.0.2.77, 198.51.100.1",
            **proxy,
        )
    )
    # Another client behind the same proxy has its own allowance.
    other = attest_from(
        api,
        pem_profile.profile_id,
        token_factory(),
        HTTP_X_FORWARDED_FOR="192.0.2.77, 198.51.100.2",
        **proxy,
    )
    assert other.status_code == 200, other.json()
    # The audit trail records the address the proxy vouched for, never the forged one.
    assert list(AuditEvent.objects.order_by("pk").values_list("ip_address", flat=True)) == [
        "198.51.100.1",
        "198.51.100.2",
    ]


@pytest.mark.parametrize(
    "count, forwarded, expected",
    [
        # No proxy trusted: the header is the client's, whatever it says.
        (0, "198.51.100.1", "10.0.0.2"),
        # One proxy: the last entry, whatever the client wrote before it.
        (1, "198.51.100.1", "198.51.100.1"),
        (1, "203.0.113.9,198.51.100.1", "198.51.100.1"),
        (1, " 203.0.113.9 ,  198.51.100.1 ", "198.51.100.1"),
        # Two proxies: the outer one appended the client, the inner one the outer proxy.
        (2, "203.0.113.9, 198.51.100.1, 10.0.0.1", "198.51.100.1"),
        # Fewer entries than proxies: the request skipped an outer proxy, so every entry was
        # written by one of ours; the leftmost is the address the first of them saw.
        (2, "198.51.100.1", "198.51.100.1"),
        (3, "198.51.100.1, 10.0.0.1", "198.51.100.1"),
        # Ports (some load balancers append them) and IPv6, normalised.
        (1, "203.0.113.9, 198.51.100.1:61234", "198.51.100.1"),
        (1, "[2001:DB8::1]:443", "2001:db8::1"),
        (1, "2001:DB8:0::1", "2001:db8::1"),
        # No header, an empty one, or an entry that is not an address: the peer.
        (1, None, "10.0.0.2"),
        (1, "", "10.0.0.2"),
        (1, "198.51.100.1, unknown", "10.0.0.2"),
        (2, "198.51.100.1, <script>, 10.0.0.1", "10.0.0.2"),
    ],
)
def test_the_client_ip_is_counted_from_the_right(settings, count, forwarded, expected):
    behind_proxies(settings, count)
    meta = {"REMOTE_ADDR": "10.0.0.2"}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    assert client_ip(RequestFactory().post(AUTHENTICATE, **meta)) == expected


def test_a_header_without_a_proxy_count_is_ignored(settings):
    """Without ``TRUSTED_PROXY_COUNT`` no header is believed (check W003 says so)."""
    settings.TRUSTED_AUTH = {**settings.TRUSTED_AUTH, "CLIENT_IP_HEADER": "HTTP_X_FORWARDED_FOR"}
    request = RequestFactory().post(
        AUTHENTICATE, REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.1"
    )
    assert client_ip(request) == "10.0.0.2"


def test_a_single_value_header_set_by_the_proxy(settings):
    """A header the proxy overwrites (X-Real-IP) holds one entry: the count is 1."""
    behind_proxies(settings, 1, header="HTTP_X_REAL_IP")
    request = RequestFactory().post(
        AUTHENTICATE,
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_REAL_IP="198.51.100.1",
        HTTP_X_FORWARDED_FOR="203.0.113.9",
    )
    assert client_ip(request) == "198.51.100.1"


def test_attest_is_limited_per_profile_across_addresses(
    api, profile_factory, pem_profile, token_factory, signer, settings
):
    rates(settings, attest_ip=None, attest_profile="2/d")
    for address in ("203.0.113.1", "203.0.113.2"):
        ok = attest_from(api, pem_profile.profile_id, token_factory(), REMOTE_ADDR=address)
        assert ok.status_code == 200, ok.json()
    assert_throttled(
        attest_from(api, pem_profile.profile_id, token_factory(), REMOTE_ADDR="203.0.113.3")
    )
    other = profile_factory(pem_keys=[signer.public_pem], can_jit_provision=True)
    assert post_attest(api, other.profile_id, token_factory()).status_code == 200


def test_b2b_attest_shares_the_limits(api, pem_profile, token_factory, settings):
    rates(settings, attest_ip="1/d", attest_profile=None)
    assert post_attest(api, pem_profile.profile_id, token_factory()).status_code == 200
    response = api.post(
        "/v1/b2b/sessions/attest",
        {"profile_id": pem_profile.profile_id, "token": token_factory()},
        format="json",
    )
    assert_throttled(response)


def test_authenticate_is_limited_per_client_ip(api, settings):
    rates(settings, authenticate_ip="2/d")
    for _ in range(2):
        response = api.post(AUTHENTICATE, {"session_token": "nope"}, format="json")
        assert response.status_code == 404, response.json()
    assert_throttled(api.post(AUTHENTICATE, {"session_token": "nope"}, format="json"))
    b2b = api.post("/v1/b2b/sessions/authenticate", {"session_token": "nope"}, format="json")
    assert_throttled(b2b)


def test_concurrent_requests_never_pass_more_than_the_limit(settings):
    """The counter is one atomic ``incr``: of 40 simultaneous requests from one address with a
    limit of 15, exactly 15 pass. DRF's own timestamp-list window let all 40 through on Redis
    (the PostgreSQL + Redis pass of .ci/run), where every read-modify-write overlapped."""
    rates(settings, authenticate_ip="15/d")
    request = RequestFactory().post(AUTHENTICATE, REMOTE_ADDR="203.0.113.9")
    barrier = threading.Barrier(40)
    allowed: list[bool] = []

    def one() -> None:
        throttle = AuthenticateIPThrottle()
        barrier.wait(timeout=10)
        allowed.append(throttle.allow_request(request, None))

    threads = [threading.Thread(target=one) for _ in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert (allowed.count(True), allowed.count(False)) == (15, 25)
    refused = AuthenticateIPThrottle()
    assert not refused.allow_request(request, None)
    assert 0 < refused.wait() <= DAY


def test_none_disables_a_scope(api, pem_profile, settings, monkeypatch):
    """None turns a scope off, even where the scope's default would refuse. The defaults are
    lowered for the test: against the shipped 600/m, a handful of requests could not tell
    "off" from "on"."""
    monkeypatch.setitem(DEFAULTS["THROTTLE_RATES"], "attest_ip", "2/d")
    monkeypatch.setitem(DEFAULTS["THROTTLE_RATES"], "attest_profile", "2/d")
    # A scope left out keeps its (lowered) default: the third attest is refused.
    rates(settings)
    for _ in range(2):
        assert post_attest(api, pem_profile.profile_id, "a.b.c").status_code == 401
    assert_throttled(post_attest(api, pem_profile.profile_id, "a.b.c"))

    rates(settings, attest_ip=None, attest_profile=None)
    for _ in range(5):
        assert post_attest(api, pem_profile.profile_id, "a.b.c").status_code == 401


def test_unauthenticated_calls_are_refused_before_the_throttle(api, pem_profile, settings):
    """A caller without the project secret cannot use up the deployment's allowance."""
    rates(settings, attest_ip="1/d", attest_profile=None)
    api.credentials()
    for _ in range(3):
        assert post_attest(api, pem_profile.profile_id, "a.b.c").status_code == 401


THROTTLE_SCRIPT = textwrap.dedent("""
    import django
    django.setup()
    from rest_framework.test import APIRequestFactory
    from trusted_auth.api.throttling import AttestIPThrottle
    request = APIRequestFactory().post("/v1/sessions/attest", REMOTE_ADDR="127.0.0.1")
    print("allowed" if AttestIPThrottle().allow_request(request, None) else "throttled")
""")


def test_the_limit_holds_across_processes_sharing_the_cache(
    api, pem_profile, token_factory, settings, tmp_path
):
    cache_dir = tmp_path / "cache"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(cache_dir),
        }
    }
    rates(settings, attest_ip="2/d", attest_profile=None)
    for _ in range(2):
        assert post_attest(api, pem_profile.profile_id, token_factory()).status_code == 200

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "CACHE_URL": f"filecache://{cache_dir}",
    }
    # The other process runs the test settings, whose default attest_ip rate is far higher:
    # give it the same limit through the same setting.
    script = THROTTLE_SCRIPT.replace(
        "django.setup()",
        "from django.conf import settings\n"
        "settings.TRUSTED_AUTH = {**settings.TRUSTED_AUTH, "
        "'THROTTLE_RATES': {'attest_ip': '2/d'}}\n"
        "django.setup()",
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=env,
        cwd=Path(__file__).resolve().parent.parent,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "throttled"
    caches["default"].clear()


@pytest.mark.parametrize(
    "value, message",
    [
        (
            {"attest_ip": "lots"},
            "TRUSTED_AUTH['THROTTLE_RATES']['attest_ip'] is not a rate: 'lots'.",
        ),
        (
            {"attest_ip": "10/fortnight"},
            "TRUSTED_AUTH['THROTTLE_RATES']['attest_ip'] is not a rate: '10/fortnight'.",
        ),
        ({"attest_ip": "0/m"}, "TRUSTED_AUTH['THROTTLE_RATES']['attest_ip'] is not a rate: '0/m'."),
        ({"attest_ip": 10}, "TRUSTED_AUTH['THROTTLE_RATES']['attest_ip'] is not a rate: 10."),
    ],
)
def test_a_bad_rate_is_a_system_check_error(settings, value, message):
    settings.DEBUG = True
    settings.TRUSTED_AUTH = {**settings.TRUSTED_AUTH, "THROTTLE_RATES": value}
    assert check_settings() == [
        Error(
            message,
            hint="Write it as 'N/s', 'N/m', 'N/h' or 'N/d', or None to disable the scope.",
            id="trusted_auth.E020",
        )
    ]


def test_an_unknown_scope_is_a_system_check_error(settings):
    settings.DEBUG = True
    settings.TRUSTED_AUTH = {**settings.TRUSTED_AUTH, "THROTTLE_RATES": {"atest_ip": "1/s"}}
    assert check_settings() == [
        Error(
            "TRUSTED_AUTH['THROTTLE_RATES'] has an unknown scope 'atest_ip'.",
            hint="Known scopes: attest_ip, attest_profile, authenticate_ip, "
            "basic_auth_failure_ip, browser_ip, browser_profile.",
            id="trusted_auth.E020",
        )
    ]


def test_default_rates_pass_the_checks(settings):
    settings.DEBUG = True
    assert check_settings() == []


def browser_exchange(profile_id: str, token: str):
    """One sign-in from a fresh browser: its own cookies and CSRF token."""
    client = Client(enforce_csrf_checks=True)
    assert client.get("/example/signin").status_code == 200
    return client.post(
        "/browser/exchange",
        {"profile_id": profile_id, "token": token},
        HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value,
    )


def test_the_browser_flow_has_its_own_limits(pem_profile, token_factory, settings):
    rates(settings, browser_ip=None, browser_profile="1/d")
    first = browser_exchange(pem_profile.profile_id, token_factory())
    assert first.status_code == 200, first.content
    assert_throttled(browser_exchange(pem_profile.profile_id, token_factory()))
    assert Session.objects.count() == 1


def test_browser_garbage_does_not_lock_the_api_out_of_a_profile(
    api, pem_profile, token_factory, settings
):
    """Issue 12 item 7: anonymous browser posts spent the server API's per-profile budget."""
    rates(settings, attest_profile="8/d", browser_profile="8/d", browser_ip=None)
    answers = [browser_exchange(pem_profile.profile_id, "garbage").status_code for _ in range(10)]
    assert answers == [401] * 8 + [429] * 2
    ok = post_attest(api, pem_profile.profile_id, token_factory(), session_duration_minutes=60)
    assert ok.status_code == 200, ok.json()


def basic(secret: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(secret.encode()).decode()}


def test_failed_basic_authentication_is_throttled_per_client_ip(api_secret, settings):
    rates(settings, basic_auth_failure_ip="3/d")
    project = settings.TRUSTED_AUTH["PROJECT_ID"]
    client = APIClient()
    wrong = basic(f"{project}:secret-wrong")
    for _ in range(3):
        refused = client.post(AUTHENTICATE, {"session_token": "x"}, format="json", **wrong)
        assert refused.status_code == 401
        assert refused.json()["error_type"] == "unauthorized_credentials"
    # Each failure is audited, with the address it came from.
    events = AuditEvent.objects.filter(error_type="unauthorized_credentials")
    assert [(e.outcome, e.ip_address) for e in events] == [("failure", "127.0.0.1")] * 3
    assert_throttled(client.post(AUTHENTICATE, {"session_token": "x"}, format="json", **wrong))
    malformed = {"HTTP_AUTHORIZATION": "Basic !!!"}
    assert_throttled(client.post(AUTHENTICATE, {"session_token": "x"}, format="json", **malformed))
    # Past the limit refusals are not audited: a scan cannot fill the audit table.
    assert events.count() == 3
    # Another address has its own allowance, and the right secret is never refused.
    other = client.post(
        AUTHENTICATE, {"session_token": "x"}, format="json", REMOTE_ADDR="203.0.113.9", **wrong
    )
    assert other.status_code == 401
    right = client.post(
        AUTHENTICATE, {"session_token": "x"}, format="json", **basic(f"{project}:{api_secret}")
    )
    assert right.status_code == 404, right.json()  # authenticated: the session is unknown


def test_a_throttle_whose_cache_is_down_refuses_instead_of_allowing(settings):
    """With Redis unreachable the count cannot be taken: the error propagates (the API answers
    it as a dependency failure), never an "allow"."""
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.CACHES = {
        **settings.CACHES,
        "down": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{port}/0",
            "OPTIONS": {"socket_connect_timeout": 1},
        },
    }
    settings.TRUSTED_AUTH = {**settings.TRUSTED_AUTH, "CACHE_ALIAS": "down"}
    request = RequestFactory().post(AUTHENTICATE, REMOTE_ADDR="198.51.100.4")
    with pytest.raises(redis.exceptions.ConnectionError):
        AuthenticateIPThrottle().allow_request(request, None)


@pytest.mark.parametrize("forged", ["unknown", "<script>", "1.2.3.4.5", "", "::ffff:zz"])
def test_a_forged_client_ip_header_falls_back_to_the_peer(api, pem_profile, settings, forged):
    """A new string per request must not buy a new allowance, nor reach the audit IP column."""
    rates(settings, attest_ip="1/d", attest_profile=None)
    behind_proxies(settings, 1)
    first = attest_from(api, pem_profile.profile_id, "a.b.c", HTTP_X_FORWARDED_FOR=forged)
    assert first.status_code == 401
    assert AuditEvent.objects.get().ip_address == "127.0.0.1"
    assert_throttled(
        attest_from(api, pem_profile.profile_id, "a.b.c", HTTP_X_FORWARDED_FOR=forged + "x")
    )


def test_failed_basic_authentication_is_counted_per_proxied_client(api_secret, settings):
    """Behind a proxy a password guesser cannot reset its count by writing a new address."""
    rates(settings, basic_auth_failure_ip="2/d")
    behind_proxies(settings, 1)
    project = settings.TRUSTED_AUTH["PROJECT_ID"]
    wrong = basic(f"{project}:secret-wrong")
    client = APIClient()

    def guess(forged: str):
        return client.post(
            AUTHENTICATE,
            {"session_token": "x"},
            format="json",
            REMOTE_ADDR="10.0.0.2",
            HTTP_X_FORWARDED_FOR=f"{forged}, 198.51.100.5",
            **wrong,
        )

    assert [guess(f"192.0.2.{n}").status_code for n in range(2)] == [401, 401]
    assert_throttled(guess("192.0.2.99"))
    events = AuditEvent.objects.filter(error_type="unauthorized_credentials")
    assert [e.ip_address for e in events] == ["198.51.100.5"] * 2


def test_a_header_without_a_proxy_count_warns(settings):
    settings.DEBUG = True
    settings.TRUSTED_AUTH = {**settings.TRUSTED_AUTH, "CLIENT_IP_HEADER": "HTTP_X_FORWARDED_FOR"}
    assert check_settings() == [
        Warning(
            "TRUSTED_AUTH['CLIENT_IP_HEADER'] is set but TRUSTED_AUTH['TRUSTED_PROXY_COUNT'] is 0: "
            "the header is ignored.",
            hint="Rate limits and audit events use REMOTE_ADDR until TRUSTED_PROXY_COUNT says how "
            "many proxies in front of the app append to the header (1 for one load balancer); the "
            "client is then read that many entries from the right. Trusting a header no proxy of "
            "yours writes would let every client choose its own address.",
            id="trusted_auth.W003",
        )
    ]
    behind_proxies(settings, 2)
    assert check_settings() == []


@pytest.mark.parametrize("header", ["", "X-Forwarded-For", "http_x_forwarded_for", None])
def test_a_proxy_count_without_a_header_is_an_error(settings, header):
    settings.DEBUG = True
    behind_proxies(settings, 1, header=header)
    assert check_settings() == [
        Error(
            "TRUSTED_AUTH['TRUSTED_PROXY_COUNT'] is 1 but TRUSTED_AUTH['CLIENT_IP_HEADER'] names "
            f"no request header ({header!r}).",
            hint="Name the header as request.META spells it: 'HTTP_X_FORWARDED_FOR' for "
            "X-Forwarded-For. Or set TRUSTED_PROXY_COUNT back to 0 to use REMOTE_ADDR.",
            id="trusted_auth.E010",
        )
    ]


@pytest.mark.parametrize("count", [-1, 1.5, "1", True, None])
def test_a_proxy_count_that_is_not_a_count_is_an_error(settings, count):
    settings.DEBUG = True
    behind_proxies(settings, count)
    assert check_settings() == [
        Error(
            "TRUSTED_AUTH['TRUSTED_PROXY_COUNT'] must be a whole number of at least 0.",
            hint="The number of reverse proxies in front of the app that append the address they "
            "saw to CLIENT_IP_HEADER; 0 trusts none and uses REMOTE_ADDR.",
            id="trusted_auth.E009",
        )
    ]
