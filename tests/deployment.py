"""The example project as a deployment of its own: a SQLite file (or another DATABASE_URL), the
CLI in separate processes and Gunicorn workers, for the multi-process tests.

Nothing here shares the pytest-django test database: each deployment migrates its own, and
the test talks to it over HTTP and through ``manage.py``, as an operator would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import requests

from .gunicorn_server import REPOSITORY, GunicornServer
from .issuers import AUDIENCE, ISSUER

PROJECT_ID = "project-test-example"


class Deployment:
    """One example-project deployment in ``directory`` with the given environment."""

    def __init__(
        self,
        directory: Path,
        *,
        ca_bundle: str,
        cache_url: str = "",
        trusted_auth: dict[str, Any] | None = None,
        settings_module: str = "tests.example_overrides",
    ) -> None:
        self.directory = directory
        self.env = {
            "DJANGO_SETTINGS_MODULE": settings_module,
            "DATABASE_URL": f"sqlite:///{directory / 'db.sqlite3'}",
            "DEBUG": "false",
            "SECRET_KEY": "tests-deployment-secret-key-0123456789abcdefghijklmnop",
            "TRUSTED_AUTH_PROJECT_ID": PROJECT_ID,
            "TRUSTED_AUTH_JWKS_ALLOW_PRIVATE_NETWORKS": "true",
            "TRUSTED_AUTH_JWKS_CA_BUNDLE": ca_bundle,
            "TRUSTED_AUTH_SIGNING_KEY_SIZE": "2048",
            "TESTS_TRUSTED_AUTH": json.dumps(trusted_auth or {}),
        }
        if cache_url:
            self.env["CACHE_URL"] = cache_url
        self.servers: list[GunicornServer] = []
        self.secret = ""

    def manage(self, *args: str, stdin: str | None = None) -> Any:
        """``manage.py ARGS`` in a child process; its JSON stdout, parsed."""
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=REPOSITORY,
            env={**os.environ, **self.env},
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if done.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stderr[-3000:]}")
        return json.loads(done.stdout) if done.stdout.strip() else None

    def prepare(self) -> None:
        self.manage("migrate", "--verbosity", "0")
        self.secret = self.manage("trusted_auth", "secret", "create")["secret"]

    def pem_profile(self, public_pem: str, *extra: str) -> dict[str, Any]:
        path = self.directory / f"key-{len(list(self.directory.glob('key-*')))}.pem"
        path.write_text(public_pem)
        return self.manage(*self._profile_args(*extra), "--pem-file", str(path))

    def jwks_profile(self, jwks_url: str, *extra: str) -> dict[str, Any]:
        # --no-fetch: the test decides when the JWKS host is first reached (it may hang).
        return self.manage(*self._profile_args(*extra), "--jwks-url", jwks_url, "--no-fetch")

    @staticmethod
    def _profile_args(*extra: str) -> list[str]:
        return [
            "trusted_auth",
            "profile",
            "create",
            "--name",
            "Test issuer",
            "--issuer",
            ISSUER,
            "--audience",
            AUDIENCE,
            "--map",
            "email=email",
            "token_id=jti",
            *extra,
        ]

    def start(self, workers: int, extra_args: tuple[str, ...] = ()) -> GunicornServer:
        server = GunicornServer(
            self.env,
            self.directory / f"gunicorn-{len(self.servers)}.log",
            workers=workers,
            extra_args=extra_args,
        )
        self.servers.append(server)
        server.start(f"/v1/sessions/jwks/{PROJECT_ID}")
        return server

    def post(self, server: GunicornServer, path: str, body: dict[str, Any]) -> requests.Response:
        return requests.post(
            server.url + path, json=body, auth=(PROJECT_ID, self.secret), timeout=60
        )

    def stop(self) -> None:
        for server in self.servers:
            server.stop()
