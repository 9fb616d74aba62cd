"""The documentation as a newcomer follows it (issues 16 and 30): every shell and Python block of
the Quickstart and Install pages runs as written, in order, in one shell.

1. In a fresh copy of the repository (what a clone holds: ``git ls-files``, tracked files and new
   ones not ignored, so nothing of this checkout's state leaks in): ``manage.py demo``, the three
   snippets it prints, then ``docs/quickstart.md``. ``git status`` in the copy stays clean.
2. In an empty folder: ``docs/install.md`` — ``django-admin startproject``, the settings and URLs
   blocks added to the new project, ``migrate``, a local CA, Gunicorn over HTTPS in the
   background, then the official Python SDK attests and ``authenticate_jwt_local`` verifies.

The one thing not redone is ``pip install`` into a fresh venv (minutes, and the network): the
blocks that do it are marked ``# Not run by the tests:``, and ``.venv`` links to the venv running
the tests, with this checkout first on ``PYTHONPATH``. The only edits are the ports (free ones
instead of 8000 and 8443). The conventions are in ``docs/contributing.md`` ("Tested pages").
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.gunicorn_server import REPOSITORY, free_port
from tests.test_demo import NODE_DIR, READY_LINE, _snippets, _wait_for, start_demo, stop_demo

DOCS = REPOSITORY / "docs"
FENCE = re.compile(r"^```(sh|python)\n(.*?)^```$", re.S | re.M)
NOT_RUN = "# Not run by the tests:"
BACKGROUND = "# In a second terminal (it keeps running):"
FILE = re.compile(r"^# ([\w./-]+\.py)( \(add at the end\))?$")
GIT = ["git", "-c", "user.name=newcomer", "-c", "user.email=newcomer@example.com"]


@dataclass
class Block:
    language: str
    text: str

    @property
    def first_line(self) -> str:
        return self.text.splitlines()[0]

    @property
    def runs(self) -> bool:
        return not self.first_line.startswith(NOT_RUN)


def page_blocks(page: Path) -> list[Block]:
    return [Block(language, text) for language, text in FENCE.findall(page.read_text())]


def as_script(blocks: list[Block], server_port: int | None = None) -> str:
    """One bash script doing what each block says, in order (see the module docstring)."""
    lines = ["set -euo pipefail"]
    for block in filter(lambda b: b.runs, blocks):
        file = FILE.match(block.first_line)
        if file:
            redirect = ">>" if file.group(2) else ">"
            lines.append(f"printf '\\n' {redirect} {file.group(1)}")
            lines.append(f"cat >> {file.group(1)} <<'DOCS_BLOCK_END'\n{block.text}DOCS_BLOCK_END")
        elif block.first_line == BACKGROUND:
            assert server_port is not None, "a background block on a page without a server port"
            lines += [
                block.text.rstrip() + " > server.log 2>&1 &",
                "server_pid=$!",
                "trap 'kill $server_pid; wait $server_pid || true' EXIT",
                "for _ in $(seq 600); do",
                f"    (exec 3<>/dev/tcp/127.0.0.1/{server_port}) 2>/dev/null && break",
                "    kill -0 $server_pid 2>/dev/null || { cat server.log >&2; exit 1; }",
                "    sleep 0.1",
                "done",
            ]
        else:
            assert block.language == "sh", f"a Python block that is no file: {block.text}"
            lines.append(block.text)
    return "\n".join(lines) + "\n"


def run_script(script: str, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    # A clean environment: the blocks must carry their own settings (CA bundles, variables).
    base = {"PATH": os.environ["PATH"], "HOME": str(cwd.parent)}
    result = subprocess.run(
        ["bash", "-c", script],
        cwd=cwd,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, (result.stdout, result.stderr)
    return result


def test_the_readme_keeps_its_two_commands_and_the_demo_installs_only_the_example_extra():
    readme = (REPOSITORY / "README.md").read_text()
    demo = (
        'python3 -m venv .venv && .venv/bin/pip install -q -e ".[example]" '
        "&& .venv/bin/python manage.py demo"
    )
    tests = (
        'python3 -m venv .venv && .venv/bin/pip install -q -e ".[dev]" '
        "&& .venv/bin/python -m pytest"
    )
    assert demo in readme and tests in readme
    assert tests in (REPOSITORY / ".ci" / "run").read_text()  # CI runs the README's command
    extras = tomllib.loads((REPOSITORY / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    names = {re.split(r"[<>=\[]", requirement)[0] for requirement in extras["example"]}
    assert names == {"django-environ", "gunicorn", "stytch"}  # no pytest, playwright, psycopg…


@pytest.mark.parametrize("page", ["quickstart.md", "install.md"])
def test_every_block_runs_or_says_why_not(page):
    blocks = page_blocks(DOCS / page)
    assert blocks
    for block in blocks:
        if not block.runs:
            assert len(block.first_line) > len(NOT_RUN) + 5, "say why it is not run"
        elif block.language == "python":
            assert FILE.match(block.first_line), f"a Python block must name its file:\n{block}"
        # One interpreter throughout: the venv's, never a bare `python`.
        text = block.text.replace(".venv/bin/python", "")
        assert block.runs is False or not re.search(r"(^|[\s(|])python3? ", text), block.text


def test_the_quickstart_has_its_steps_in_order():
    texts = [b.text for b in page_blocks(DOCS / "quickstart.md") if b.runs]
    steps = [
        "secret create",
        "openssl genrsa",
        "profile create",
        "mint grace.hopper@example.com",
        "profile test",
        "stytch.Client",
        "identity link",
    ]
    assert len(texts) == len(steps)
    for text, step in zip(texts, steps, strict=True):
        assert step in text


@pytest.fixture
def fresh_copy(tmp_path) -> Path:
    if shutil.which("git") is None or not (REPOSITORY / ".git").exists():
        if os.environ.get("CI"):
            pytest.fail("the newcomer check needs git and a git checkout")
        pytest.skip("not a git checkout")
    files = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPOSITORY,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    copy = tmp_path / "clone"
    for name in filter(None, (f.decode() for f in files)):
        source = REPOSITORY / name
        if source.is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copy / name)
    (copy / ".venv").symlink_to(Path(sys.prefix), target_is_directory=True)
    subprocess.run(["git", "init", "-q"], cwd=copy, check=True)
    subprocess.run(["git", "add", "-A"], cwd=copy, check=True)
    subprocess.run([*GIT, "commit", "-q", "-m", "clone"], cwd=copy, check=True)
    return copy


def test_the_demo_its_snippets_then_the_quickstart_in_one_sitting(fresh_copy):
    port = free_port()
    demo, lines = start_demo(fresh_copy, port)
    try:
        snippets = _snippets(_wait_for(lines, READY_LINE, demo))
        demo_user = json.loads(run_script(snippets["curl"], fresh_copy).stdout)["user"]
        run_script(snippets["python"], fresh_copy)
        if shutil.which("node") and (NODE_DIR / "node_modules" / "stytch").is_dir():
            run_script(snippets["node"], NODE_DIR)
        elif os.environ.get("CI"):
            pytest.fail("CI must run the Node SDK: install node and `npm ci --prefix tests/node`")

        # The one edit: the demo listens on a free port, not 8000.
        script = as_script(page_blocks(fresh_copy / "docs" / "quickstart.md"))
        result = run_script(script.replace("127.0.0.1:8000", f"127.0.0.1:{port}"), fresh_copy)
    finally:
        stop_demo(demo)
    out = result.stdout
    assert '"profile_id": "ttp-' in out  # step 3 printed the profile
    assert re.search(r"^eyJ[\w-]+\.[\w-]+\.[\w-]+$", out, re.M)  # step 4 printed the token
    assert '"passed": true' in out  # step 5's dry run
    assert re.search(r"^session-[0-9a-f-]+ grace\.hopper@example\.com$", out, re.M)  # step 6
    linked = json.loads(out[out.rindex('{"status_code"') :])  # step 7: Ada, linked on purpose
    assert linked["status_code"] == 200
    assert linked["user"]["user_id"] == demo_user["user_id"]
    assert linked["user"]["emails"][0]["email"] == "ada.lovelace@example.com"
    status = subprocess.run(
        ["git", "status", "--porcelain"], cwd=fresh_copy, capture_output=True, text=True
    ).stdout
    assert status == "", f"the Quickstart left files git does not ignore:\n{status}"


def test_the_install_page_in_a_new_project_over_https(tmp_path):
    project = tmp_path / "newproject"
    project.mkdir()
    (project / ".venv").symlink_to(Path(sys.prefix), target_is_directory=True)
    port = free_port()
    blocks = page_blocks(DOCS / "install.md")
    # The one edit: a free port instead of 8443, in the settings, the server and the SDK alike.
    script = as_script(blocks, server_port=port).replace("127.0.0.1:8443", f"127.0.0.1:{port}")
    assert "8443" not in script

    result = run_script(script, project, PYTHONPATH=str(REPOSITORY))

    attested = re.search(
        r"^attested: (session-[0-9a-f-]+) katherine\.johnson@example\.com$", result.stdout, re.M
    )
    assert attested, (result.stdout, result.stderr)
    assert f"verified locally: {attested.group(1)}" in result.stdout.splitlines()
