"""The example project under Gunicorn in a child process: the multi-process tests and the
benchmark (bench/run.py) both start it from here."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

REPOSITORY = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class GunicornServer:
    """``gunicorn example_project.wsgi`` on 127.0.0.1 with the given environment."""

    def __init__(
        self,
        env: dict[str, str],
        log_path: Path,
        workers: int = 1,
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, **env}
        self.log_path = log_path
        self.workers = workers
        self.extra_args = extra_args
        self.process: subprocess.Popen | None = None

    def start(self, ready_path: str, timeout: float = 60.0) -> None:
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "example_project.wsgi:application",
                    "--bind",
                    f"127.0.0.1:{self.port}",
                    "--workers",
                    str(self.workers),
                    "--worker-class",
                    "sync",
                    "--graceful-timeout",
                    "5",
                    *self.extra_args,
                ],
                cwd=REPOSITORY,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited early:\n{self.log()}")
            try:
                if requests.get(self.url + ready_path, timeout=10).status_code == 200:
                    return
            except requests.RequestException:  # not listening yet, or still booting
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"gunicorn did not answer within {timeout} s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
