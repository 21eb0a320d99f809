#!/usr/bin/env python3
"""HTTP servers side by side, in one run (issue 9, finding 2): throughput and slow clients.

    .venv/bin/python bench/bench_servers.py [--servers granian,gunicorn-sync,...] [--duration 10] [--rounds 2]
                                            [--slow 20] [--no-seed]

For each server (2 workers each; bench/common.py server_command says how each is started) it runs, with
wrk -t1 -c16, the rate limit off and the same seeded PostgreSQL data:

  hello   a raw WSGI hello-world (bench/hello_wsgi.py): what the server itself costs
  ping    the service's GET /ping (Flask)
  status  the service's GET /api/v1/subjects/insured/{id}/status over the 10,000-ID mix (bench_status.py),
          after checking that a suspended subject is answered false and a never-recorded one true
  batch   POST /api/v1/status/batch with 1,000 IDs a body (bench_batch.py; wrk -c4), as a regression guard

Servers are measured one after the other, alternating the order in each round (the machine has 2 cores:
two servers at once would measure each other). Any error answer (non-2xx, timeout, socket error) fails
that figure. Then slow clients: N connections sending their request headers at 1 byte/s, and 10
legitimate status requests at once; how many were answered (200) within 5 s — with 2 slow connections and
with N. Prints a table of req/s and p99 and the ratio to gunicorn sync (today's default until issue 9).
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import socket
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

BASELINE = "gunicorn-sync"
TARGET_RPS, TARGET_P99_MS = 20_000, 5.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--servers", default="gunicorn-sync,gunicorn-gthread,gunicorn-gevent,granian")
    parser.add_argument("--duration", type=int, default=int(os.environ.get("BENCH_DURATION", 10)))
    parser.add_argument("--rounds", type=int, default=int(os.environ.get("BENCH_ROUNDS", 2)))
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--slow", type=int, default=20, help="slow connections (0: skip the slow-client part)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-seed", action="store_true")
    args = parser.parse_args()
    args.duration, args.rounds = min(args.duration, 60), min(args.rounds, 5)
    servers = [s for s in args.servers.split(",") if s]
    for kind in servers:
        if kind not in common.SERVER_KINDS:
            raise SystemExit(f"unknown server {kind}; known: {', '.join(common.SERVER_KINDS)}")
    if "gunicorn-gevent" in servers and importlib.util.find_spec("gevent") is None:
        common.say("gevent is not installed (not a dependency of the service): gunicorn-gevent skipped")
        servers.remove("gunicorn-gevent")

    if not args.no_seed:
        import seed
        seed.seed(common.PG_URL, 1_000_000, common.SEED_SUBJECTS, reseed=False)
    common.install_cleanup()
    token = os.environ.get("BENCH_SETTLEMENT_TOKEN") or common.create_token("settlement", common.PG_URL)[1]
    on = common.today()
    mix = common.id_mix(10_000)
    paths = common.scratch_dir() / "servers-status-paths.txt"
    paths.write_text("".join(common.status_path(n, on) + "\n" for n, _ in mix))
    restricted = next(n for n, r in mix if r)
    never = next(n for n, r in mix if not r)

    from bench_batch import bodies
    body_file = common.scratch_dir() / "servers-batch-bodies.txt"
    body_file.write_text("".join(b + "\n" for b in bodies(on)))
    runs: dict[str, dict[str, list[dict]]] = {s: {"hello": [], "ping": [], "status": [], "batch": []}
                                              for s in servers}
    slow: dict[str, dict] = {}
    for r in range(args.rounds):
        for kind in (servers if r % 2 == 0 else list(reversed(servers))):
            common.say(f"== round {r + 1}: {kind}")
            runs[kind]["hello"].append(_hello(kind, args))
            service = _service(kind, args)
            try:
                target = common.Target(service.base_url, service.log_path, service.pid, args.workers, service)
                _check(target, token, on, restricted, never)
                env = {"BENCH_TOKEN": token, "BENCH_PATHS": str(paths)}
                batch_env = {"BENCH_TOKEN": token, "BENCH_BODIES": str(body_file)}
                for name, url, script, e, c in (
                        ("ping", service.base_url + "/ping", "ping.lua", None, args.connections),
                        ("status", service.base_url + "/", "status.lua", env, args.connections),
                        ("batch", service.base_url + "/", "batch.lua", batch_env, 4)):
                    common.run_wrk(url, script, 3, c, env=e)  # warm-up
                    runs[kind][name].append(_measure(target, url, script, args, e, kind, name, c))
                if r == 0 and args.slow:
                    slow[kind] = {n: _slow_clients(service, token, on, never, n) for n in (2, args.slow)}
                    common.say(f"  slow clients: " + ", ".join(
                        f"{n} slow → {v['answered']}/{v['sent']} answered within 5 s" for n, v in slow[kind].items()))
            finally:
                service.stop()

    table = _table(servers, runs, slow, args)
    common.say("\n" + table)
    common.write_result("servers", {
        "servers": servers, "connections": args.connections, "duration_s": args.duration, "rounds": args.rounds,
        "workers": args.workers, "runs": runs, "slow_clients": slow, "table": table,
        "summary": {k: {n: _summary(v) for n, v in per.items()} for k, per in runs.items()},
    })


def _hello(kind: str, args) -> dict:
    server = common.Server(common.PG_URL, workers=args.workers, kind=kind, app="hello",
                           log_path=common.RESULTS / f"{common.run_id()}-servers-{kind}-hello.log").start()
    try:
        target = common.Target(server.base_url, None, server.pid, args.workers, server)
        common.run_wrk(server.base_url + "/", "ping.lua", 3, args.connections)
        return _measure(target, server.base_url + "/", "ping.lua", args, None, kind, "hello")
    finally:
        server.stop()


def _service(kind: str, args) -> "common.Server":
    server = common.Server(common.PG_URL, workers=args.workers, kind=kind,
                           log_path=common.RESULTS / f"{common.run_id()}-servers-{kind}.log").start()
    common.say(f"  {kind}: pid {server.pid}, workers {server.worker_pids()}, log {server.log_path}")
    return server


def _check(target, token: str, on, restricted: str, never: str) -> None:
    """Every worker has loaded its index and answers correctly (a suspended subject may not settle)."""
    headers = {"Authorization": f"Bearer {token}"}
    deadline = time.monotonic() + 300
    while len(common.index_rebuilds(target.log_path)) < target.workers:
        if time.monotonic() > deadline:
            raise SystemExit(f"{target.base_url}: the status index did not load in every worker")
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda _: common.http_get(target.base_url + common.status_path(never, on), headers), range(4)))
        time.sleep(0.2)
    for _ in range(4):  # several connections: whichever worker answers
        for number, allowed in ((restricted, False), (never, True)):
            status, body = common.http_get(target.base_url + common.status_path(number, on), headers)
            if status != 200 or json.loads(body)["settlement_allowed"] is not allowed:
                raise SystemExit(f"wrong status answer for {number[:6]}…: {status} {body[:200]!r}")


def _measure(target, url, script, args, env, kind, name, connections=None) -> dict:
    w = common.measured_wrk(target, url, script, args.duration, connections or args.connections, env=env)
    errors = sum(w["errors"].values())
    w["failed"] = errors > 0
    common.say(f"  {name:6s} {w['requests_per_second']:9.0f} req/s  p99 {w['latency_ms']['p99']:6.2f} ms"
               + (f"  ERRORS {w['errors']} — figure FAILED" if errors else "")
               + f"  (server {w['cpu']['server_us_per_request']} µs/req, other processes "
                 f"{w['cpu']['other_cores']} cores)")
    return w


class _SlowClient(threading.Thread):
    def __init__(self, port: int, stop: threading.Event):
        super().__init__(daemon=True)
        self.port, self.stop = port, stop

    def run(self) -> None:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=10) as sock:
                for byte in b"GET /healthz HTTP/1.1\r\nHost: bench\r\nX-Slow: " + b"a" * 100:
                    sock.sendall(bytes([byte]))
                    if self.stop.wait(1.0):
                        return
        except OSError:
            return


def _slow_clients(server, token: str, on, number: str, n: int) -> dict:
    """n connections trickling headers at 1 byte/s; then 10 status requests at once, each on its own
    connection, given 5 s; how many got their 200 in time."""
    stop = threading.Event()
    clients = [_SlowClient(server.port, stop) for _ in range(n)]
    for c in clients:
        c.start()
    time.sleep(2.0)
    url = server.base_url + common.status_path(number, on)

    def one(_):
        started = time.monotonic()
        try:
            status, _body = common.http_get(url, {"Authorization": f"Bearer {token}"}, timeout=5)
        except OSError:
            return None
        return time.monotonic() - started if status == 200 else None

    try:
        with ThreadPoolExecutor(10) as pool:
            times = list(pool.map(one, range(10)))
    finally:
        stop.set()
        for c in clients:
            c.join(5)
    answered = [t for t in times if t is not None and t <= 5.0]
    return {"slow_connections": n, "sent": 10, "answered": len(answered),
            "slowest_ms": round(max(answered) * 1000, 1) if answered else None}


def _summary(ws: list[dict]) -> dict:
    return {"rps": round(statistics.mean(w["requests_per_second"] for w in ws), 1),
            "p99_ms": round(statistics.mean(w["latency_ms"]["p99"] for w in ws), 3),
            "failed": any(w["failed"] for w in ws),
            "server_us_per_request": round(statistics.mean(w["cpu"]["server_us_per_request"] or 0 for w in ws), 1),
            "other_cores": round(statistics.mean(w["cpu"]["other_cores"] or 0 for w in ws), 2)}


def _table(servers, runs, slow, args) -> str:
    names = ("hello", "ping", "status", "batch")
    base = {n: _summary(runs[BASELINE][n])["rps"] for n in names} if BASELINE in runs else {}
    head = (f"servers side by side — run {common.run_id()} — {args.workers} workers each, wrk -t1 "
            f"-c{args.connections}, {args.rounds} × {args.duration} s (mean), rate limit off, PostgreSQL "
            f"{common.SEED_SUBJECTS:,} subjects")
    lines = [head, "| server | raw WSGI hello | Flask /ping | status check | status p99 | status CPU/req "
                   "| batch 1000 IDs (-c4) | 2 slow clients | %d slow clients |" % args.slow,
             "|---|---|---|---|---|---|---|---|---|"]
    for kind in servers:
        cells = []
        for name in ("hello", "ping", "status"):
            s = _summary(runs[kind][name])
            ratio = f" ({s['rps'] / base[name]:.1f}×)" if base.get(name) and kind != BASELINE else ""
            cells.append("FAILED (errors)" if s["failed"] else f"{s['rps']:,.0f} req/s{ratio}")
        st, bt = _summary(runs[kind]["status"]), _summary(runs[kind]["batch"])
        batch_ratio = f" ({bt['rps'] / base['batch']:.1f}×)" if base.get("batch") and kind != BASELINE else ""
        batch = "FAILED (errors)" if bt["failed"] else f"{bt['rps'] * 1000:,.0f} IDs/s{batch_ratio}"
        slow_cells = [f"{slow[kind][n]['answered']}/10 in 5 s" if kind in slow else "—" for n in (2, args.slow)]
        lines.append(f"| {kind} | " + " | ".join(cells) + f" | {st['p99_ms']:.1f} ms | "
                     f"{st['server_us_per_request']:.0f} µs | {batch} | " + " | ".join(slow_cells) + " |")
    if "granian" in runs:
        st = _summary(runs["granian"]["status"])
        ok = not st["failed"] and st["rps"] >= TARGET_RPS and st["p99_ms"] <= TARGET_P99_MS
        lines.append(f"target (granian status): ≥ {TARGET_RPS:,} req/s with p99 ≤ {TARGET_P99_MS} ms → "
                     f"{'MET' if ok else 'MISSED'} ({st['rps']:,.0f} req/s, p99 {st['p99_ms']:.1f} ms; "
                     f"other processes used {st['other_cores']} cores meanwhile)")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
