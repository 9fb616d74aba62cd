"""Running the Node scripts in ``tests/node`` (pinned by its ``package-lock.json``) with the test
CA trusted. Skipped when node or a package is missing, except under ``CI``, where it fails."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

NODE_DIR = Path(__file__).parent / "node"


def node_with(*packages: str) -> str:
    """The node executable, once every package is installed in ``tests/node``."""
    node = shutil.which("node")
    if node and all((NODE_DIR / "node_modules" / p).is_dir() for p in packages):
        return node
    if os.environ.get("CI"):
        pytest.fail("CI is set but node or tests/node/node_modules is missing (npm ci there)")
    pytest.skip("node or tests/node/node_modules missing (npm ci --prefix tests/node)")


def run_node(node: str, script: str, ca_bundle: str, **env: str) -> Any:
    """Run ``tests/node/<script>`` with ``env`` and the test CA; its stdout, parsed as JSON."""
    finished = subprocess.run(
        [node, str(NODE_DIR / script)],
        env={
            **os.environ,
            **env,
            "NODE_EXTRA_CA_CERTS": ca_bundle,
            "NO_PROXY": "127.0.0.1,localhost",
        },
        cwd=NODE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert finished.returncode == 0, finished.stderr
    return json.loads(finished.stdout)
