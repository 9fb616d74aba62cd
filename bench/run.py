#!/usr/bin/env python3
"""Benchmark: the example project under Gunicorn, on SQLite and on PostgreSQL + Redis.

    .venv/bin/python bench/run.py --duration 10

For each backend: migrate a fresh database, create a profile, an API secret, sessions and fresh
external tokens (bench/django_side.py), serve ``example_project`` with Gunicorn (2 sync workers
by default), and drive it with wrk over loopback:

- ``no-op``: ``GET /example/noop``, a DRF view with nothing to do: the framework floor;
- ``attest``: ``POST /v1/sessions/attest`` with a fresh token per request (a new session each);
- ``authenticate``: ``POST /v1/sessions/authenticate`` by session token.

Then in-process rates on one core: raw PyJWT RS256 verify and sign, our verification of an
external token, and local verification of our session JWT. Prints one table with requests/s,
p50/p99 latency, each figure as a ratio to the no-op floor, worker RSS and the targets.

PostgreSQL and Redis are started in a temporary directory with ``.ci/pg-redis`` (Debian's
``postgresql`` and ``redis-server``) unless ``--database-url``/``--cache-url`` are given.
This is a script that reports numbers, not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.gunicorn_server import GunicornServer, free_port  # noqa: E402

PYTHON = sys.executable
WARMUP_TOKENS = 40

LUA_REPORT = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"p50_us":%.0f,"p99_us":%.0f,' ..
    '"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect, e.read, e.write, e.status, e.timeout))
end
"""

LUA_WALK = r"""
local items = {}
for line in io.lines(%(file)s) do
  if #line > 0 then items[#items + 1] = line end
end
local i = 0
local headers = {["Content-Type"] = "application/json", ["Authorization"] = %(auth)s}
request = function()
  i = i + 1
  -- Past the end every request repeats the last item: a replayed token shows up as an error.
  local item = items[math.min(i, #items)]
  return wrk.format("POST", %(path)s, headers, %(prefix)s .. item .. %(suffix)s)
end
"""


def lua_string(value: str) -> str:
    return json.dumps(value)  # a JSON string literal is a valid Lua string literal here


def run(command: list[str], env: dict[str, str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=ROOT, env=env, check=True, **kwargs)


def worker_rss_mb(server: GunicornServer) -> list[float]:
    """Resident memory of each Gunicorn worker (the master's children), in MB."""
    pid = server.process.pid
    sizes = []
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        status = Path(f"/proc/{child}/status").read_text()
        sizes.append(int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) / 1024)
    return sizes


def wrk(url: str, script: Path, duration: float, connections: int) -> dict[str, float]:
    output = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{max(1, round(duration))}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            url,
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    line = next(row for row in output.splitlines() if row.startswith("BENCH_JSON "))
    raw = json.loads(line.removeprefix("BENCH_JSON "))
    seconds = raw["duration_us"] / 1e6
    return {
        "rps": raw["requests"] / seconds,
        "requests": raw["requests"],
        "p50_ms": raw["p50_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "errors": sum(raw[k] for k in ("connect", "read", "write", "status", "timeout")),
    }


def write_scripts(workdir: Path, facts: dict, tokens_file: Path, sessions_file: Path) -> dict:
    auth = "Basic " + base64.b64encode(f"{facts['project_id']}:{facts['secret']}".encode()).decode()
    scripts = {"no-op": workdir / "noop.lua"}
    scripts["no-op"].write_text(LUA_REPORT)
    walks = {
        "attest": (
            "/v1/sessions/attest",
            tokens_file,
            '{"profile_id":"' + facts["profile_id"] + '","session_duration_minutes":60,"token":"',
            '"}',
        ),
        "authenticate": ("/v1/sessions/authenticate", sessions_file, '{"session_token":"', '"}'),
    }
    for name, (path, source, prefix, suffix) in walks.items():
        scripts[name] = workdir / f"{name}.lua"
        scripts[name].write_text(
            LUA_WALK
            % {
                "file": lua_string(str(source)),
                "auth": lua_string(auth),
                "path": lua_string(path),
                "prefix": lua_string(prefix),
                "suffix": lua_string(suffix),
            }
            + LUA_REPORT
        )
    return scripts


def bench_backend(name: str, env: dict[str, str], args, workdir: Path) -> dict:
    print(f"[{name}] migrate, create profile/secret/sessions, mint tokens …", file=sys.stderr)
    run([PYTHON, "manage.py", "migrate", "-v0"], env)
    if env["DATABASE_URL"].startswith("sqlite"):
        # WAL lets the two workers read while one writes; it is a property of the file.
        path = env["DATABASE_URL"].split("?")[0].removeprefix("sqlite:///")
        with sqlite3.connect("/" + path.lstrip("/")) as db:
            db.execute("PRAGMA journal_mode=WAL")
    token_count = int(args.duration * args.attest_rate_cap) + WARMUP_TOKENS
    run(
        [
            PYTHON,
            "bench/django_side.py",
            "setup",
            str(workdir),
            str(token_count),
            str(args.sessions),
        ],
        env,
    )
    facts = json.loads((workdir / "setup.json").read_text())
    tokens = (workdir / "attest_tokens.txt").read_text().split()
    warmup, measured = tokens[:WARMUP_TOKENS], tokens[WARMUP_TOKENS:]
    tokens_file = workdir / "attest_measured.txt"
    tokens_file.write_text("\n".join(measured) + "\n")
    scripts = write_scripts(workdir, facts, tokens_file, workdir / "session_tokens.txt")

    server = GunicornServer(
        {**env, "TRUSTED_AUTH_ISSUER": "http://127.0.0.1"},
        workdir / "gunicorn.log",
        workers=args.workers,
        extra_args=("--backlog", "2048"),
    )
    server.start("/example/noop")
    results: dict = {"scenarios": {}}
    try:
        auth = (facts["project_id"], facts["secret"])
        session_token = (workdir / "session_tokens.txt").read_text().split()[0]
        with requests.Session() as http:  # every worker imports and caches what it needs
            for token in warmup:
                http.post(
                    server.url + "/v1/sessions/attest",
                    auth=auth,
                    timeout=30,
                    json={
                        "profile_id": facts["profile_id"],
                        "token": token,
                        "session_duration_minutes": 60,
                    },
                ).raise_for_status()
                http.post(
                    server.url + "/v1/sessions/authenticate",
                    auth=auth,
                    timeout=30,
                    json={"session_token": session_token},
                ).raise_for_status()
        wrk(server.url + "/example/noop", scripts["no-op"], 2, args.connections)
        for scenario in ("no-op", "attest", "authenticate"):
            print(f"[{name}] {scenario} for {args.duration} s …", file=sys.stderr)
            path = "/example/noop" if scenario == "no-op" else "/"
            results["scenarios"][scenario] = wrk(
                server.url + path, scripts[scenario], args.duration, args.connections
            )
        attested = results["scenarios"]["attest"]["requests"]
        if attested > len(measured):
            print(
                f"[{name}] only {len(measured)} tokens for {attested} attests: raise "
                f"--attest-rate-cap",
                file=sys.stderr,
            )
        results["rss_mb"] = worker_rss_mb(server)
    finally:
        server.stop()
    print(f"[{name}] in-process rates …", file=sys.stderr)
    results["inprocess"] = json.loads(
        run(
            [
                PYTHON,
                "bench/django_side.py",
                "inprocess",
                str(workdir),
                str(args.inprocess_seconds),
            ],
            env,
            capture_output=True,
            text=True,
        ).stdout
    )
    return results


def print_table(results: dict, args) -> None:
    print(
        f"\ntrusted_auth benchmark: {os.cpu_count()} CPUs, Gunicorn {args.workers} sync "
        f"workers, wrk -t1 -c{args.connections}, {args.duration:g} s per scenario, loopback, "
        f"session JWTs signed with RSA-{args.signing_key_size}"
    )
    print(
        f"{'backend':<16}{'scenario':<14}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'x no-op':>9}{'errors':>8}"
    )
    for backend, result in results.items():
        floor = result["scenarios"]["no-op"]["rps"]
        for scenario, s in result["scenarios"].items():
            print(
                f"{backend:<16}{scenario:<14}{s['rps']:>9.0f}{s['p50_ms']:>9.1f}"
                f"{s['p99_ms']:>9.1f}{s['rps'] / floor:>9.2f}{s['errors']:>8}"
            )
    print(
        "\nworker RSS after the run (MB): "
        + "; ".join(
            f"{b}: " + ", ".join(f"{mb:.0f}" for mb in r["rss_mb"]) for b, r in results.items()
        )
    )
    print("\nin-process, one core, calls/s (x raw jwt.decode RS256-2048):")
    for backend, result in results.items():
        rates = result["inprocess"]
        raw = rates["raw_decode_rs256_2048"]
        print(f"  [{backend}]")
        labels = {
            "raw_decode_rs256_2048": "raw jwt.decode, RS256 2048-bit",
            "raw_sign_rs256_2048": "raw jwt.encode, RS256 2048-bit",
            "raw_sign_rs256_3072": "raw jwt.encode, RS256 3072-bit",
            "raw_sign_rs256_4096": "raw jwt.encode, RS256 4096-bit",
            "verify_external_token": "verify_external_token (all checks)",
            "raw_decode_session_jwt": "raw jwt.decode of our session JWT",
            "bearer_session_jwt": "our session JWT, Bearer auth (local)",
            "decode_session_jwt": "our session JWT, decode_session_jwt",
            "issue_session_jwt": "issue_session_jwt (sign ours)",
        }
        for key, value in rates.items():
            print(f"    {labels.get(key, key):<40}{value:>9.0f}{value / raw:>8.2f}")
    print("\ntargets:")
    for backend, result in results.items():
        s = result["scenarios"]
        floor = s["no-op"]["rps"]
        rates = result["inprocess"]
        checks = [
            ("attest >= 0.35 x no-op", s["attest"]["rps"] / floor, 0.35),
            ("authenticate >= 0.6 x no-op", s["authenticate"]["rps"] / floor, 0.6),
            (
                "verify_external_token >= 0.8 x raw decode",
                rates["verify_external_token"] / rates["raw_decode_rs256_2048"],
                0.8,
            ),
            (
                "Bearer session JWT >= 0.8 x its raw decode",
                rates["bearer_session_jwt"] / rates["raw_decode_session_jwt"],
                0.8,
            ),
        ]
        for label, value, target in checks:
            verdict = "met" if value >= target else "MISSED"
            print(f"  [{backend}] {label:<44}{value:>6.2f}  {verdict}")
        rss = max(result["rss_mb"])
        print(
            f"  [{backend}] {'RSS per worker < 120 MB':<44}{rss:>6.0f}  "
            f"{'met' if rss < 120 else 'MISSED'}"
        )
        errors = sum(x["errors"] for x in s.values())
        print(f"  [{backend}] {'zero errors':<44}{errors:>6}  {'met' if not errors else 'MISSED'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10, help="seconds per scenario")
    parser.add_argument("--workers", type=int, default=2, help="Gunicorn sync workers")
    parser.add_argument("--connections", type=int, default=4, help="wrk connections")
    parser.add_argument("--sessions", type=int, default=200, help="sessions for authenticate")
    parser.add_argument(
        "--attest-rate-cap",
        type=float,
        default=800,
        help="fresh tokens minted per second of the attest scenario",
    )
    parser.add_argument("--inprocess-seconds", type=float, default=2)
    parser.add_argument(
        "--backends", default="sqlite,postgres", help="comma-separated: sqlite, postgres"
    )
    parser.add_argument("--database-url", help="use this PostgreSQL instead of starting one")
    parser.add_argument("--cache-url", help="use this Redis instead of starting one")
    parser.add_argument(
        "--signing-key-size",
        type=int,
        default=3072,
        help="RSA size of the session signing key (SIGNING_KEY_SIZE)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk not found: apt-get install wrk")

    base_env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "example_project.settings",
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECRET_KEY": "bench-only-secret-key-" + "x" * 40,
        "TRUSTED_AUTH_SIGNING_KEY_SIZE": str(args.signing_key_size),
        # One wrk client on one IP: limits it never reaches, so the throttles still run
        # (an add and an incr in the cache per scope) but refuse nothing.
        "TRUSTED_AUTH_THROTTLE_RATES": "attest_ip=100000/s,attest_profile=100000/s,"
        "authenticate_ip=100000/s",
    }
    workdir = Path(tempfile.mkdtemp(prefix="trusted-auth-bench."))
    workdir.chmod(0o755)  # the PostgreSQL cluster below belongs to the postgres user
    services = workdir / "services"
    results: dict = {}
    try:
        for backend in args.backends.split(","):
            backend_dir = workdir / backend
            backend_dir.mkdir()
            if backend == "sqlite":
                db_url = (
                    f"sqlite:///{backend_dir / 'db.sqlite3'}"
                    "?conn_max_age=600&transaction_mode=IMMEDIATE&timeout=20"
                )
                env = {**base_env, "DATABASE_URL": db_url, "CACHE_URL": "locmemcache://bench"}
                label = "sqlite+locmem"
            elif backend == "postgres":
                if args.database_url and args.cache_url:
                    db_url, cache_url = args.database_url, args.cache_url
                else:
                    lines = run(
                        [
                            str(ROOT / ".ci/pg-redis"),
                            "start",
                            str(services),
                            str(free_port()),
                            str(free_port()),
                        ],
                        base_env,
                        capture_output=True,
                        text=True,
                    ).stdout.split()
                    urls = dict(line.split("=", 1) for line in lines)
                    db_url, cache_url = urls["DATABASE_URL"], urls["CACHE_URL"]
                sep = "&" if "?" in db_url else "?"
                env = {
                    **base_env,
                    "CACHE_URL": cache_url,
                    "DATABASE_URL": f"{db_url}{sep}conn_max_age=600&conn_health_checks=true",
                }
                label = "postgres+redis"
            else:
                raise SystemExit(f"unknown backend {backend!r}")
            results[label] = bench_backend(label, env, args, backend_dir)
    finally:
        if services.exists():
            subprocess.run([str(ROOT / ".ci/pg-redis"), "stop", str(services)], check=False)
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    print_table(results, args)


if __name__ == "__main__":
    main()
