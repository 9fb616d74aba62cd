"""``manage.py demo`` as a newcomer runs it: a child process serving HTTPS on a free port, and
the snippets it prints (curl, the official Python SDK, the official Node SDK) run as printed.

Nothing here talks to the demo except through what it printed: the CA path, the secret, the
profile id and the command that mints a token all come from its output.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.gunicorn_server import REPOSITORY, free_port

NODE_DIR = REPOSITORY / "tests" / "node"
READY_LINE = "trusted_auth demo is serving"


@dataclass
class Demo:
    url: str
    folder: Path
    output: str
    snippets: dict[str, str]
    process: subprocess.Popen


def _snippets(output: str) -> dict[str, str]:
    """The blocks under each ``== title ==`` heading, keyed by the title's first word."""
    blocks: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in output.splitlines():
        if line.startswith("== "):
            current = blocks.setdefault(line[3:].split()[0].lower(), [])
        elif line.startswith("   ") and current == []:
            continue  # the heading's second line
        elif current is not None:
            if not line.strip():
                current = None
            else:
                current.append(line)
    return {name: "\n".join(lines) for name, lines in blocks.items()}


def _wait_for(lines: queue.Queue, marker: str, process: subprocess.Popen) -> str:
    seen: list[str] = []
    while True:
        try:
            line = lines.get(timeout=120)
        except queue.Empty:
            raise AssertionError("demo did not start:\n" + "".join(seen)) from None
        if line is None:
            raise AssertionError(f"demo exited ({process.wait()}):\n" + "".join(seen))
        seen.append(line)
        if marker in line:
            return "".join(seen)


def start_demo(
    repository: Path, port: int, folder: Path | None = None
) -> tuple[subprocess.Popen, queue.Queue]:
    """``manage.py demo`` of ``repository`` on ``port``, as a child process; its output lines
    arrive on the queue (``None`` when it exits)."""
    url = f"https://127.0.0.1:{port}"
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "CACHE_URL")
    }
    env.update(
        {
            "TRUSTED_AUTH_ISSUER": url,
            "TRUSTED_AUTH_SIGNING_KEY_SIZE": "2048",  # the suite's size: key generation is slow
            "PYTHONUNBUFFERED": "1",
        }
    )
    if folder is not None:
        env["DATABASE_URL"] = f"sqlite:///{folder / 'db.sqlite3'}"
    command = [sys.executable, "manage.py", "demo", "--addrport", f"127.0.0.1:{port}"]
    if folder is not None:
        command += ["--dir", str(folder)]
    process = subprocess.Popen(
        command,
        cwd=repository,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue = queue.Queue()

    def pump() -> None:
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    return process, lines


def stop_demo(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Iterator[Demo]:
    folder = tmp_path_factory.mktemp("demo")
    port = free_port()
    process, lines = start_demo(REPOSITORY, port, folder)
    try:
        output = _wait_for(lines, READY_LINE, process)
        yield Demo(f"https://127.0.0.1:{port}", folder, output, _snippets(output), process)
    finally:
        stop_demo(process)


def _run(snippet: str, cwd: Path = REPOSITORY) -> str:
    # A clean environment except PATH and HOME: the snippet must carry its own CA settings.
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp")}
    result = subprocess.run(
        ["bash", "-c", "set -euo pipefail\n" + snippet],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, (snippet, result.stdout, result.stderr)
    return result.stdout


def test_the_demo_serves_https_with_its_own_ca_and_prints_three_snippets(demo):
    assert set(demo.snippets) == {"curl", "python", "node"}
    ca = demo.folder / "ca.pem"
    assert f"demo CA    : {ca}" in demo.output
    assert f"--cacert {ca}" in demo.snippets["curl"]
    assert f"REQUESTS_CA_BUNDLE={ca}" in demo.snippets["python"]
    assert f"NODE_EXTRA_CA_CERTS={ca}" in demo.snippets["node"]
    # The private keys stay with the demo folder, not readable by others.
    assert (demo.folder / "server-key.pem").stat().st_mode & 0o077 == 0
    assert (demo.folder / "private_key.pem").stat().st_mode & 0o077 == 0


def test_the_demo_certificate_is_verified_not_skipped(demo):
    """Without the demo CA, verification fails: the snippets work because they trust it."""
    result = subprocess.run(
        ["curl", "-s", "-o", "/dev/null", f"{demo.url}/v1/sessions/jwks/project-test-example"],
        capture_output=True,
        env={"PATH": os.environ["PATH"], "CURL_CA_BUNDLE": "/etc/ssl/certs/ca-certificates.crt"},
    )
    assert result.returncode == 60  # SSL certificate problem: unable to get local issuer


def test_curl_snippet_attests(demo):
    body = json.loads(_run(demo.snippets["curl"]))
    assert body["status_code"] == 200
    assert body["session"]["session_id"].startswith("session-")
    assert body["user"]["emails"][0]["email"] == "ada.lovelace@example.com"
    assert body["session_token"] and body["session_jwt"]


def test_python_sdk_snippet_attests_authenticates_and_verifies_locally(demo):
    out = _run(demo.snippets["python"])
    lines = dict(line.split(": ", 1) for line in out.strip().splitlines())
    session_id, email = lines["attested"].split()
    assert session_id.startswith("session-") and email == "ada.lovelace@example.com"
    assert lines["authenticated"] == session_id
    assert lines["verified locally"] == session_id


def test_node_sdk_snippet_attests_and_authenticates(demo):
    if shutil.which("node") is None or not (NODE_DIR / "node_modules" / "stytch").is_dir():
        if os.environ.get("CI"):
            pytest.fail("CI must run the Node SDK: install node and `npm ci --prefix tests/node`")
        pytest.skip("node or tests/node/node_modules missing (npm ci --prefix tests/node)")
    out = _run(demo.snippets["node"], cwd=NODE_DIR)
    lines = dict(line.split(": ", 1) for line in out.strip().splitlines())
    session_id, email = lines["attested"].split()
    assert session_id.startswith("session-") and email == "ada.lovelace@example.com"
    assert lines["authenticated"] == session_id
    assert lines["verified"] == session_id


# --- a second run, the secret across runs, the landing page (issue 30) ------------------------


def _live_secrets(folder: Path) -> list[tuple[str, str]]:
    """The demo database's live API secrets: (secret_id, last four), read as rows."""
    with sqlite3.connect(folder / "db.sqlite3") as db:
        return db.execute(
            "SELECT secret_id, last_four FROM trusted_auth_apisecret WHERE revoked_at IS NULL"
        ).fetchall()


def _run_demo(folder: Path, *args: str, port: int | None = None) -> subprocess.CompletedProcess:
    """``manage.py demo`` to completion (``--no-server`` or a refusal), on ``folder``'s database."""
    port = port or free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "CACHE_URL")
    }
    env.update(
        {
            "TRUSTED_AUTH_ISSUER": f"https://127.0.0.1:{port}",
            "DATABASE_URL": f"sqlite:///{folder / 'db.sqlite3'}",
        }
    )
    command = [sys.executable, "manage.py", "demo", "--addrport", f"127.0.0.1:{port}"]
    return subprocess.run(
        [*command, "--dir", str(folder), *args],
        cwd=REPOSITORY,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _printed_secret(output: str) -> str:
    (line,) = [line for line in output.splitlines() if line.split(":")[0].strip() == "secret"]
    return line.split(":", 1)[1].split()[0]


def test_a_second_demo_on_a_busy_port_refuses_before_creating_anything(demo):
    secrets_before = _live_secrets(demo.folder)
    port = int(demo.url.rsplit(":", 1)[1])
    second = _run_demo(demo.folder, port=port)
    assert second.returncode == 1
    assert "127.0.0.1:" + str(port) in second.stderr and "--addrport" in second.stderr
    assert "secret" not in second.stdout and "== curl ==" not in second.stdout
    assert _live_secrets(demo.folder) == secrets_before
    # The first demo still serves.
    response = requests.get(
        f"{demo.url}/v1/sessions/jwks/project-test-example", verify=demo.folder / "ca.pem"
    )
    assert response.status_code == 200


def test_runs_reuse_the_demo_secret_and_never_pile_up_live_secrets(tmp_path):
    first = _run_demo(tmp_path, "--no-server")
    assert first.returncode == 0, first.stderr
    second = _run_demo(tmp_path, "--no-server")
    assert second.returncode == 0, second.stderr
    secret = _printed_secret(first.stdout)
    assert _printed_secret(second.stdout) == secret
    assert [last_four for _, last_four in _live_secrets(tmp_path)] == [secret[-4:]]
    assert (tmp_path / "api_secret").stat().st_mode & 0o077 == 0

    # A lost secret file (or one from another database): a new secret, the old one revoked.
    (tmp_path / "api_secret").unlink()
    third = _run_demo(tmp_path, "--no-server")
    assert third.returncode == 0, third.stderr
    assert _printed_secret(third.stdout) != secret
    assert [last_four for _, last_four in _live_secrets(tmp_path)] == [
        _printed_secret(third.stdout)[-4:]
    ]


def test_the_base_url_is_a_landing_page_with_the_links_a_newcomer_needs(demo):
    response = requests.get(f"{demo.url}/", verify=demo.folder / "ca.pem")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    page = response.text
    assert "trusted_auth" in page and "Page not found" not in page
    for link in (
        "/admin/",
        "/trusted_auth/openapi.yaml",
        "/trusted_auth/errors",
        "/v1/sessions/jwks/project-test-example",
    ):
        assert f'href="{link}"' in page, link
        assert requests.get(demo.url + link, verify=demo.folder / "ca.pem").status_code == 200
