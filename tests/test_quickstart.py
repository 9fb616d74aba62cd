"""The README as a newcomer follows it (issue 16): the Quickstart's blocks run as written, in
order, in one shell, in a fresh copy of the repository, against ``manage.py demo``.

The copy holds what a clone holds (``git ls-files``: tracked files and new ones not ignored),
so nothing of this checkout's state (its database, ``.demo/``) leaks in, and no key file lands
in this repository. The one thing not redone is ``pip install`` into a fresh venv (minutes,
offline): the copy's ``.venv`` links to the venv running the tests. After the run, ``git
status`` in the copy must be clean: every file the Quickstart writes is git-ignored.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

from tests.gunicorn_server import REPOSITORY, free_port
from tests.test_demo import READY_LINE, _wait_for, start_demo, stop_demo

README = REPOSITORY / "README.md"
BLOCK = re.compile(r"<!-- quickstart -->\s*\n\s*```sh\n(.*?)\n\s*```", re.S)
GIT = ["git", "-c", "user.name=newcomer", "-c", "user.email=newcomer@example.com"]


def quickstart_blocks(readme: str) -> list[str]:
    return [textwrap.dedent(block) for block in BLOCK.findall(readme)]


def test_the_readme_demo_command_installs_only_the_example_extra():
    readme = README.read_text()
    command = (
        'python3 -m venv .venv && .venv/bin/pip install -q -e ".[example]" '
        "&& .venv/bin/python manage.py demo"
    )
    assert command in readme
    extras = tomllib.loads((REPOSITORY / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    names = {re.split(r"[<>=\[]", requirement)[0] for requirement in extras["example"]}
    assert names == {"django-environ", "gunicorn", "stytch"}  # no pytest, playwright, psycopg…


def test_the_quickstart_has_its_blocks_in_order():
    blocks = quickstart_blocks(README.read_text())
    assert len(blocks) == 6
    assert "secret create" in blocks[0] and "openssl genrsa" in blocks[1]
    assert "profile create" in blocks[2] and "export TOKEN" in blocks[3]
    assert '--token "$TOKEN"' in blocks[4] and "stytch.Client" in blocks[5]
    # One interpreter throughout: the venv's, never a bare `python`.
    for block in blocks:
        assert not re.search(r"(^|[\s(|])python3? ", block.replace(".venv/bin/python", "")), block


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


def test_the_quickstart_runs_as_written_against_the_demo(fresh_copy):
    port = free_port()
    demo, lines = start_demo(fresh_copy, port)
    try:
        _wait_for(lines, READY_LINE, demo)
        blocks = quickstart_blocks((fresh_copy / "README.md").read_text())
        # The one edit: the demo listens on a free port, not 8000.
        script = "\n".join(blocks).replace("127.0.0.1:8000", f"127.0.0.1:{port}")
        result = subprocess.run(
            ["bash", "-c", "set -euo pipefail\n" + script],
            cwd=fresh_copy,
            env={"PATH": os.environ["PATH"], "HOME": str(fresh_copy.parent)},
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        stop_demo(demo)
    assert result.returncode == 0, (result.stdout, result.stderr)
    out = result.stdout
    assert '"profile_id": "ttp-' in out  # step 2 printed the profile
    assert re.search(r"^eyJ[\w-]+\.[\w-]+\.[\w-]+$", out, re.M)  # step 3 printed the token
    assert '"passed": true' in out  # step 4's dry run
    assert re.search(r"^session-[0-9a-f-]+ ada\.lovelace@example\.com$", out, re.M)  # step 5
    assert (fresh_copy / "private_key.pem").exists()
    status = subprocess.run(
        ["git", "status", "--porcelain"], cwd=fresh_copy, capture_output=True, text=True
    ).stdout
    assert status == "", f"the Quickstart left files git does not ignore:\n{status}"
