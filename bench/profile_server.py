#!/usr/bin/env python3
"""Where the time goes inside the server's workers, sampled with py-spy under the benchmark load.

    .venv/bin/python bench/profile_server.py [--install-py-spy] [--seconds 8] [--only status,batch]

py-spy is looked for in $BENCH_PY_SPY, bench/results/.venv-pyspy/bin/py-spy (created by
--install-py-spy: a separate venv, nothing is added to the project's), then $PATH. If it is missing
the script says so and exits 0.

Scenarios (each on the same server): hello (wrk /ping), status (wrk status.lua), batch (wrk batch.lua),
import (one POST of 10,000 rows to /api/v1/violations/import; PostgreSQL; rows removed afterwards).
Every sample of every worker is put in one bucket by walking its stack from the innermost frame out
and taking the first frame that names a component (JSON, marshmallow, ID validation, Flask/werkzeug,
gunicorn socket writes, …). For the wrk scenarios µs/request = bucket share × the workers' CPU per
request measured from /proc over the same run; for the import µs/row = share × wall time ÷ rows
(sampled with --idle so database waits count).
"""
from __future__ import annotations

import argparse
import collections
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

LOCAL_PYSPY = common.RESULTS / ".venv-pyspy" / "bin" / "py-spy"
IDLE = "(idle: waiting for work)"
POLLER = "(status-index poller thread)"

# (bucket, test on "function (path:line)") — first match walking from the innermost frame outwards
RULES: list[tuple[str, callable]] = [
    ("ID validation / masking (domain/identity.py)", lambda f: "credit_service/domain/identity.py" in f),
    ("status_on (domain/status.py)", lambda f: "credit_service/domain/status.py" in f),
    ("decide: rules (domain/decisions.py, rules.py)", lambda f: "credit_service/domain/" in f),
    ("serializers (api/serializers.py)", lambda f: "credit_service/api/serializers.py" in f),
    ("index lookup (StatusIndex.get)", lambda f: "StatusIndex.get " in f or "ensure_ready" in f),
    ("index refresh after commit", lambda f: "StatusIndex.refresh" in f or "load_subject_facts" in f),
    ("auth (token → principal)", lambda f: "credit_service/api/auth.py" in f or "services/clients.py" in f),
    ("JSON encode/decode (stdlib json)", lambda f: "(json/" in f),
    ("marshmallow schema load", lambda f: "marshmallow/" in f or "(schemas/" in f),
    ("intake (services/intake.py)", lambda f: "credit_service/services/intake.py" in f or "unit_of_work" in f),
    ("records: SQL / COPY (adapters/records.py)", lambda f: "credit_service/adapters/records.py" in f),
    ("view code (api/status.py, api/violations.py)", lambda f: "credit_service/api/" in f),
    ("credit_service other", lambda f: "credit_service/" in f),
    ("psycopg driver / DB round trips", lambda f: "psycopg/" in f),
    ("SQLAlchemy", lambda f: "sqlalchemy/" in f),
    ("flask-smorest decorators", lambda f: "flask_smorest/" in f),
    ("Flask / werkzeug request handling", lambda f: "(flask/" in f or "(werkzeug/" in f),
    ("gunicorn: socket writes (sendall)", lambda f: f.startswith("write (gunicorn/util.py") or "Response.send_headers" in f),
    ("gunicorn: close (shutdown + drain)", lambda f: "close_graceful" in f),
    ("gunicorn: HTTP parse", lambda f: "(gunicorn/http/" in f),
    ("gunicorn: accept / wait", lambda f: "SyncWorker.accept" in f or "SyncWorker.wait" in f),
    ("gunicorn other", lambda f: "(gunicorn/" in f or f.startswith("<module> (gunicorn")),
    ("logging (access log)", lambda f: "(logging/" in f),
    ("granian: WSGI glue (granian/wsgi.py)", lambda f: "(granian/" in f),
]


def find_py_spy(install: bool) -> str | None:
    for candidate in (os.environ.get("BENCH_PY_SPY"), str(LOCAL_PYSPY), shutil.which("py-spy")):
        if candidate and Path(candidate).exists():
            return candidate
    if not install:
        return None
    venv = LOCAL_PYSPY.parent.parent
    common.say(f"installing py-spy into a separate venv {venv} …")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "py-spy"], check=True, timeout=300)
    return str(LOCAL_PYSPY) if LOCAL_PYSPY.exists() else None


def classify(stack: str, idle_mode: bool) -> str:
    frames = stack.split(";")
    if any("_poll_forever" in f for f in frames):
        return POLLER
    if idle_mode and "SyncWorker.handle" not in stack:  # sampled with --idle: waiting in select/accept
        return IDLE
    for frame in reversed(frames):
        for bucket, test in RULES:
            if test(frame):
                return bucket
    return "other"


def start_py_spy(py_spy: str, pids: list[int], out_dir: Path, label: str, idle: bool) -> list[tuple]:
    procs = []
    for pid in pids:
        out = out_dir / f"{label}-{pid}.folded"
        cmd = [py_spy, "record", "-p", str(pid), "-r", "250", "-f", "raw", "-o", str(out), "--nonblocking"]
        if idle:
            cmd.append("--idle")
        procs.append((subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL), out))
    time.sleep(0.5)
    return procs


def innermost_own(stack: str) -> str | None:
    """The innermost frame in the project's code (credit_service/, schemas/), line number dropped."""
    for frame in reversed(stack.split(";")):
        if "(credit_service/" in frame or "(schemas/" in frame:
            name, _, where = frame.partition(" (")
            return f"{name} ({where.split(':')[0]})"
    return None


def stop_py_spy(procs, idle_mode: bool = False) -> tuple[collections.Counter, collections.Counter]:
    samples: collections.Counter = collections.Counter()
    own: collections.Counter = collections.Counter()
    for proc, out in procs:
        proc.send_signal(signal.SIGINT)  # py-spy writes its file on Ctrl-C
    for proc, out in procs:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        if out.exists():
            for line in out.read_text().splitlines():
                stack, _, count = line.rpartition(" ")
                if stack:
                    bucket = classify(stack, idle_mode)
                    samples[bucket] += int(count)
                    if bucket not in (IDLE, POLLER):
                        own[innermost_own(stack) or "(outside the project's code)"] += int(count)
    return samples, own


def report(label: str, sampled: tuple, per_unit_us: float | None, unit: str) -> dict:
    samples, own = sampled
    work = {k: v for k, v in samples.items() if k not in (IDLE, POLLER)}
    total = sum(work.values()) or 1
    rows = sorted(work.items(), key=lambda kv: -kv[1])
    common.say(f"---- {label}: {sum(work.values()):,} request-path samples "
               f"(+{samples.get(POLLER, 0):,} poller, {samples.get(IDLE, 0):,} idle)"
               + (f"; {per_unit_us:,.0f} µs per {unit}" if per_unit_us else ""))
    table = []
    for bucket, n in rows:
        share = n / total
        us = share * per_unit_us if per_unit_us else None
        table.append({"bucket": bucket, "share": round(share, 4), f"us_per_{unit}": round(us, 1) if us else None})
        if share >= 0.005:
            common.say(f"  {share * 100:5.1f}%  " + (f"{us:8.1f} µs/{unit}  " if us is not None else "") + bucket)
    own_total = sum(own.values()) or 1
    common.say(f"  by innermost project function (inclusive of what it calls outside the project):")
    by_function = []
    for name, n in own.most_common(10):
        share = n / own_total
        by_function.append({"function": name, "share": round(share, 4)})
        if share >= 0.01:
            common.say(f"    {share * 100:5.1f}%  " + (f"{share * per_unit_us:8.1f} µs/{unit}  " if per_unit_us else "") + name)
    return {"samples": dict(samples), "per_unit_us": per_unit_us, "unit": unit, "buckets": table,
            "by_function": by_function}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    common.add_server_args(parser)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--only", default="hello,status,batch,import")
    parser.add_argument("--install-py-spy", action="store_true", help="pip install py-spy into bench/results/.venv-pyspy")
    args = parser.parse_args()
    args.seconds = min(args.seconds, 30)
    py_spy = find_py_spy(args.install_py_spy)
    if py_spy is None:
        common.say("py-spy not found (run with --install-py-spy); skipping the server profile")
        return
    wanted = set(args.only.split(","))
    token = os.environ.get("BENCH_SETTLEMENT_TOKEN") or common.create_token("settlement", common.PG_URL)[1]
    target = common.open_target(args, common.PG_URL)
    out_dir = common.scratch_dir() / f"pyspy-{common.run_id()}"
    out_dir.mkdir(parents=True, exist_ok=True)
    on = common.today()
    mix = common.id_mix()
    results = {}
    try:
        common.ensure_warm(target, token, common.status_path(mix[0][0], on))
        paths = common.scratch_dir() / "status-paths.txt"
        paths.write_text("".join(common.status_path(n, on) + "\n" for n, _ in mix))
        from bench_batch import bodies
        body_file = common.scratch_dir() / "batch-bodies.txt"
        body_file.write_text("".join(b + "\n" for b in bodies(on)))
        scenarios = {
            "hello": (target.base_url + "/ping", "ping.lua", None, "request", 1),
            "status": (target.base_url + "/", "status.lua", {"BENCH_TOKEN": token, "BENCH_PATHS": str(paths)}, "request", 1),
            "batch": (target.base_url + "/", "batch.lua", {"BENCH_TOKEN": token, "BENCH_BODIES": str(body_file)}, "ID", 1000),
        }
        for name, (url, script, env, unit, per) in scenarios.items():
            if name not in wanted:
                continue
            conns = args.connections if name != "batch" else 4
            procs = start_py_spy(py_spy, target.worker_pids(), out_dir, name, idle=False)
            w = common.measured_wrk(target, url, script, args.seconds, conns, env=env)
            samples = stop_py_spy(procs)
            if common.error_count(w):
                raise SystemExit(f"{name}: error answers under load ({w['errors']}): no profile figure")
            per_unit = w["cpu"]["server_us_per_request"] / per if w["cpu"]["server_us_per_request"] else None
            results[name] = report(f"{name} ({w['requests_per_second']:.0f} req/s under py-spy)", samples, per_unit, unit)
        if "import" in wanted:
            import requests
            from bench_import import SOURCE, make_bodies, pg_cleanup
            _, admin = common.create_token("admin", common.PG_URL)
            rows = make_bodies(10_000, f"prof-{uuid.uuid4().hex[:6]}", random.Random())
            procs = start_py_spy(py_spy, target.worker_pids(), out_dir, "import", idle=True)
            started = time.perf_counter()
            r = requests.post(target.base_url + "/api/v1/violations/import", json=rows, timeout=300,
                              headers={"Authorization": f"Bearer {admin}"})
            seconds = time.perf_counter() - started
            time.sleep(0.3)
            samples = stop_py_spy(procs, idle_mode=True)
            if r.status_code != 200 or r.json()["summary"]["created"] != len(rows):
                pg_cleanup(common.PG_URL)
                raise SystemExit(f"import answered {r.status_code}: no profile figure")
            results["import"] = report(f"import of 10,000 rows ({seconds:.2f} s wall)", samples,
                                       seconds / len(rows) * 1e6, "row")
            pg_cleanup(common.PG_URL)
    finally:
        target.close()
    common.write_result("profile_server", {"py_spy": py_spy, "folded_dir": str(out_dir), "scenarios": results})


if __name__ == "__main__":
    main()
