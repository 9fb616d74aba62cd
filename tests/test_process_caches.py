"""Process-local caches (signing keys, API secrets) across processes: a change made by the CLI in
one process is obeyed on the next request by every Gunicorn worker.

Everything here runs in child processes on a SQLite file of its own, with each worker's cache in
local memory (nothing shared but the database): the generation counters alone carry the news.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import requests

from .gunicorn_server import REPOSITORY, GunicornServer

WORKERS = 2
REQUESTS_PER_ROUND = 12  # several per worker, whichever worker each connection reaches


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    """A migrated SQLite file with a profile, a secret and one live session (bench/django_side.py
    setup), served by Gunicorn with two sync workers."""
    workdir = tmp_path_factory.mktemp("process-caches")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "example_project.settings",
        "DATABASE_URL": f"sqlite:///{workdir / 'db.sqlite3'}?timeout=20",
        "CACHE_URL": "locmemcache://process-caches",
        "TRUSTED_AUTH_ISSUER": "http://127.0.0.1",
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
    }

    def manage(*args: str) -> dict:
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=REPOSITORY,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        return json.loads(done.stdout) if done.stdout.strip() else {}

    manage("migrate", "-v0")
    subprocess.run(
        [sys.executable, "bench/django_side.py", "setup", str(workdir), "0", "1", "0"],
        cwd=REPOSITORY,
        env=env,
        check=True,
    )
    facts = json.loads((workdir / "setup.json").read_text())
    facts["session_token"] = (workdir / "session_tokens.txt").read_text().split()[0]
    server = GunicornServer(env, workdir / "gunicorn.log", workers=WORKERS)
    server.start("/example/noop")
    try:
        yield server, facts, manage
    finally:
        server.stop()


def statuses(send) -> set[int]:
    # A fresh connection per request, so the requests spread over the workers.
    return {send().status_code for _ in range(REQUESTS_PER_ROUND)}


def test_a_key_retired_with_the_cli_is_refused_by_bearer_auth_on_the_next_request(deployment):
    server, facts, manage = deployment

    def whoami():
        return requests.get(
            server.url + "/example/whoami",
            headers={"Authorization": f"Bearer {facts['session_jwt']}"},
            timeout=30,
        )

    assert statuses(whoami) == {200}  # every worker now holds the signing key in memory
    manage("trusted_auth", "keys", "rotate")
    manage("trusted_auth", "keys", "rotate", "--promote")
    assert statuses(whoami) == {200}  # a previous key still verifies
    manage("trusted_auth", "keys", "retire", "--force")
    assert statuses(whoami) == {401}


def test_a_secret_revoked_with_the_cli_is_refused_on_the_next_request(deployment):
    server, facts, manage = deployment

    def authenticate():
        return requests.post(
            server.url + "/v1/sessions/authenticate",
            json={"session_token": facts["session_token"]},
            auth=(facts["project_id"], facts["secret"]),
            timeout=30,
        )

    assert statuses(authenticate) == {200}
    listed = manage("trusted_auth", "secret", "list")
    rows = listed if isinstance(listed, list) else listed.get("secrets", listed)
    for row in rows:
        manage("trusted_auth", "secret", "revoke", row["secret_id"])
    assert statuses(authenticate) == {401}
