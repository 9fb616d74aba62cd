"""The embedded default under several worker processes (issue 13): the example project's own
settings (a SQLite file in WAL mode, the local-memory cache) under 4 Gunicorn workers, and
changes made with the CLI in another process reaching every worker on the next request.

Each test runs its own deployment (tests/deployment.py): a fresh SQLite file, ``manage.py`` in
child processes, Gunicorn workers; nothing is shared with the pytest-django database.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from .issuers import SigningPair, default_claims

ATTEST = "/v1/sessions/attest"
AUTHENTICATE = "/v1/sessions/authenticate"
# Enough requests that every one of 4 workers serves several of them.
ROUND = 16


@pytest.fixture
def four_workers(deployment, signer):
    """The example project's settings as shipped, 4 workers, one JIT PEM profile."""
    example = deployment(settings_module="example_project.settings")
    profile = example.pem_profile(signer.public_pem, "--jit")
    server = example.start(workers=4)
    return example, server, profile["profile_id"]


def attest_body(profile_id: str, token: str) -> dict:
    return {"profile_id": profile_id, "token": token, "session_duration_minutes": 60}


def statuses(responses) -> dict[int, int]:
    counts: dict[int, int] = {}
    for response in responses:
        counts[response.status_code] = counts.get(response.status_code, 0) + 1
    return counts


def test_sqlite_with_four_workers_answers_every_request(four_workers, signer):
    example, server, profile_id = four_workers
    tokens = [signer.sign(default_claims(email=f"user{n}@example.com")) for n in range(40)]

    with ThreadPoolExecutor(max_workers=8) as pool:
        attested = list(
            pool.map(lambda t: example.post(server, ATTEST, attest_body(profile_id, t)), tokens)
        )
    assert statuses(attested) == {200: 40}, [r.text for r in attested if r.status_code != 200]

    session_tokens = [response.json()["session_token"] for response in attested]
    calls = [session_tokens[n % len(session_tokens)] for n in range(300)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        authenticated = list(
            pool.map(lambda s: example.post(server, AUTHENTICATE, {"session_token": s}), calls)
        )
    failures = [r.text for r in authenticated if r.status_code != 200]
    assert statuses(authenticated) == {200: 300}, failures[:3]


def round_of_attests(example, server, profile_id, sign) -> list:
    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(
            pool.map(
                lambda n: example.post(
                    server, ATTEST, attest_body(profile_id, sign(f"round{n}@example.com"))
                ),
                range(ROUND),
            )
        )


def error_types(responses) -> set[tuple[int, str]]:
    return {(r.status_code, r.json().get("error_type", "")) for r in responses}


def test_cli_changes_reach_every_worker_on_the_next_request(four_workers, signer):
    example, server, profile_id = four_workers
    replacement = SigningPair.rsa()

    def by_old_key(email: str) -> str:
        return signer.sign(default_claims(email=email))

    def by_new_key(email: str) -> str:
        return replacement.sign(default_claims(email=email))

    # Every worker serves the profile (and keeps its copy of it) before the changes.
    assert error_types(round_of_attests(example, server, profile_id, by_old_key)) == {(200, "")}

    # A PEM key removed in another process stops verifying in every worker at once.
    path = example.directory / "replacement.pem"
    path.write_text(replacement.public_pem)
    example.manage(
        "trusted_auth", "profile", "add-pem", "--profile-id", profile_id, "--pem-file", str(path)
    )
    old_key = example.manage("trusted_auth", "profile", "show", "--profile-id", profile_id)[
        "pem_keys"
    ][0]["key_id"]
    example.manage(
        "trusted_auth", "profile", "remove-pem", "--profile-id", profile_id, "--key-id", old_key
    )
    assert error_types(round_of_attests(example, server, profile_id, by_old_key)) == {
        (401, "invalid_trusted_auth_token")
    }
    assert error_types(round_of_attests(example, server, profile_id, by_new_key)) == {(200, "")}

    # JIT switched off: unknown users are no longer created, by any worker.
    example.manage("trusted_auth", "profile", "update", "--profile-id", profile_id, "--no-jit")

    def by_new_key_new_user(email: str) -> str:
        return by_new_key("new-" + email)

    refused = round_of_attests(example, server, profile_id, by_new_key_new_user)
    assert {r.status_code for r in refused} == {404}, [r.text for r in refused][:2]

    # The profile deleted: every worker answers 404 trusted_token_profile_not_found.
    example.manage("trusted_auth", "profile", "delete", "--profile-id", profile_id)
    assert error_types(round_of_attests(example, server, profile_id, by_new_key)) == {
        (404, "trusted_token_profile_not_found")
    }
