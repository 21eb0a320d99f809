"""schemathesis against a running service, as the issue-9 attack ran it: `--checks all`, N examples per
operation, once with an admin token and once with a person token. Prints, per role, the unique
failures by check and the server errors, and exits 1 if there is any.

    .venv/bin/python bench/api_fuzz.py [--examples 30] [--database-url URL] [--seed 1] [--workers 2]

Without --database-url it uses a fresh SQLite file in a temporary directory. A PostgreSQL database is
emptied first (every table of the public schema is dropped): never point it at a database you need
(`test` and `credit_bench` are refused). It starts `gunicorn -w 2 'credit_service:create_app()'` on a
free port of 127.0.0.1 (rate limit and scheduler off), seeds one case of the person so that its
record, notice and measure exist, and stops the server on exit. Reports (schemathesis JSON and NDJSON)
and the server log go to bench/results/fuzz-<run id>/.

The custom string formats of the OpenAPI document (`gb11643-id-number`, `region-code`) are taught to
schemathesis by tests/fuzz/formats.py (SCHEMATHESIS_HOOKS), so that its "valid" data really is valid.
"""
from __future__ import annotations

import argparse
import atexit
import glob
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from datetime import datetime
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
PROJECT = BENCH_DIR.parent
VENV_BIN = PROJECT / ".venv" / "bin"
CLI = [str(VENV_BIN / "python"), "-m", "credit_service.cli"]  # this checkout's code (cwd=PROJECT)
PERSON_ID = "370102199001011231"
TEST_HMAC_KEYS = "t1:dGVzdC1obWFjLWtleS0wMDAwMDAwMDAwMDAwMDAwMDA="
TEST_ENCRYPTION_KEYS = "t1:dGVzdC1hZXMta2V5LTAwMDAwMDAwMDAwMDAwMDAwMDA="
_server: subprocess.Popen | None = None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=30, help="examples per operation (default 30)")
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--roles", default="admin,person")
    args = parser.parse_args()

    run_id = datetime.now().strftime("%Y%m%dT%H%M%S")
    out = BENCH_DIR / "results" / f"fuzz-{run_id}"
    out.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="credit-fuzz-"))
    url = args.database_url or f"sqlite:///{scratch / 'fuzz.sqlite3'}"
    if url.rsplit("/", 1)[-1].split("?")[0] in ("test", "credit_bench"):
        raise SystemExit("refusing to use the databases 'test' and 'credit_bench'")
    env = {**os.environ, "CREDIT_SERVICE_DATABASE_URL": url, "CREDIT_SERVICE_DATA_DIR": str(scratch),
           "CREDIT_SERVICE_PII_HMAC_KEYS": TEST_HMAC_KEYS, "CREDIT_SERVICE_PII_ENCRYPTION_KEYS": TEST_ENCRYPTION_KEYS,
           "CREDIT_SERVICE_RATE_LIMIT": "off", "CREDIT_SERVICE_SCHEDULER": "off",
           "PROMETHEUS_MULTIPROC_DIR": str(scratch / "metrics")}
    (scratch / "metrics").mkdir()
    _empty_database(url)
    subprocess.run([*CLI, "db", "upgrade"], env=env, cwd=PROJECT, check=True, capture_output=True)
    tokens = {role: _client(env, role) for role in ("admin", "person")}
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    _start_server(env, port, args.workers, out / "server.log")
    _seed_case(base, tokens["admin"])

    config = out / "schemathesis.toml"  # no crash cache: a run does not replay the failures of earlier runs
    config.write_text("[cache]\nenabled = false\n")
    figures = {}
    for role in args.roles.split(","):
        report_dir = out / role
        command = [str(VENV_BIN / "schemathesis"), "--config-file", str(config), "run", f"{base}/api/openapi.json",
                   "--checks", "all",
                   "--max-examples", str(args.examples), "--seed", str(args.seed), "--no-color",
                   "--generation-database", "none",
                   "--header", f"Authorization: Bearer {tokens[role]}", "--report", "json,ndjson",
                   "--report-dir", str(report_dir)]
        started = time.perf_counter()
        with open(out / f"{role}.txt", "w") as log:
            subprocess.run(command, env={**env, "SCHEMATHESIS_HOOKS": "tests.fuzz.formats"}, cwd=PROJECT,
                           stdout=log, stderr=subprocess.STDOUT)
        figures[role] = _figures(report_dir, time.perf_counter() - started)

    print(f"schemathesis --checks all, {args.examples} examples per operation, seed {args.seed}, "
          f"{'SQLite' if url.startswith('sqlite') else 'PostgreSQL'}, gunicorn -w {args.workers}")
    print(f"{'role':8} {'operations':>10} {'test cases':>10} {'unique failures':>16} {'server errors':>14} "
          f"{'seconds':>8}  by check")
    failed = False
    for role, f in figures.items():
        print(f"{role:8} {f['operations']:>10} {f['cases']:>10} {f['unique']:>16} {f['server_errors']:>14} "
              f"{f['seconds']:>8.0f}  {dict(f['by_code'])}")
        failed |= bool(f["unique"] or f["errors"])
        for line in f["errors"]:
            print(f"  error: {line}")
    print(f"reports: {out}")
    return 1 if failed else 0


def _figures(report_dir: Path, seconds: float) -> dict:
    report = json.loads(Path(glob.glob(str(report_dir / "json-*.json"))[0]).read_text())
    by_code = Counter({f"{f['code']} {f['title']}": f["count"] for f in report["failures"]})
    server_errors = sum(f["count"] for f in report["failures"] if f["code"] == "ST101")  # ServerError
    return {"operations": report["operations"]["tested"], "cases": report["test_cases"]["generated"],
            "unique": report["test_cases"]["unique_failures"], "server_errors": server_errors,
            "by_code": by_code, "errors": [str(e)[:200] for e in report["errors"]], "seconds": seconds}


def _empty_database(url: str) -> None:
    if not url.startswith("postgresql"):
        return
    from sqlalchemy import create_engine, text
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def _client(env: dict, role: str) -> str:
    extra = ["--subject", f"insured:{PERSON_ID}"] if role == "person" else []
    done = subprocess.run([*CLI, "clients", "create", "--name", f"fuzz-{role}", "--role", role, *extra],
                          env=env, cwd=PROJECT, check=True, capture_output=True, text=True)
    return done.stdout.strip().splitlines()[-1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_server(env: dict, port: int, workers: int, log_path: Path) -> None:
    global _server
    log = open(log_path, "w")
    # The shipped configuration, not --no-control-socket: gunicorn < 25 has no control socket and rejects
    # the flag, while a configuration file's unknown settings are ignored (control_socket_disable there).
    _server = subprocess.Popen([str(VENV_BIN / "gunicorn"), "-c", "python:credit_service.gunicorn_conf",
                                "-w", str(workers), "-b",
                                f"127.0.0.1:{port}", "credit_service:create_app()"], env=env, cwd=PROJECT,
                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    atexit.register(_stop_server)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    for _ in range(150):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return
        except OSError:
            if _server.poll() is not None:
                raise SystemExit(f"gunicorn exited; see {log_path}")
            time.sleep(0.2)
    raise SystemExit(f"gunicorn did not answer; see {log_path}")


def _stop_server() -> None:
    if _server is not None and _server.poll() is None:
        os.killpg(_server.pid, signal.SIGTERM)
        try:
            _server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(_server.pid, signal.SIGKILL)


def _seed_case(base: str, token: str) -> None:
    """One violation of the person (a measure, its notice): so that there is something to read."""
    body = {"source": "fuzz", "source_ref": "FUZZ-1",
            "subject": {"subject_type": "insured", "id_number": PERSON_ID, "name": "张三"},
            "region": "370100", "occurred_on": "2025-03-02", "determined_on": "2025-04-10",
            "fund_loss": "150000.00", "handling": "administrative", "fraud": False, "description": "虚构医疗服务"}
    request = urllib.request.Request(f"{base}/api/v1/violations", data=json.dumps(body).encode(), method="POST",
                                     headers={"Authorization": f"Bearer {token}",
                                              "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        measure = json.loads(response.read())["measures"][0]["id"]
    notice = urllib.request.Request(f"{base}/api/v1/measures/{measure}/notice", method="POST",
                                    data=json.dumps({"served_on": "2025-04-11", "received_on": "2025-04-12"}).encode(),
                                    headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    urllib.request.urlopen(notice, timeout=10).read()


if __name__ == "__main__":
    sys.exit(main())
