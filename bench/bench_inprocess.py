#!/usr/bin/env python3
"""Single-process figures: the Flask app called as a WSGI callable (no gunicorn, no wrk competing for CPU).

    .venv/bin/python bench/bench_inprocess.py [--seconds 5] [--no-profile]

One Python process = one core, so these are per-core figures:
  * status index load time and the RSS it adds to the process (the in-memory index size);
  * GET /ping and GET …/status req/s (same 10,000-ID mix as bench_status.py) and their ratio;
  * POST /api/v1/status/batch IDs/s (1000 IDs a request) — the per-core batch figure;
  * the cost of the pure domain work (status_on + status_json) per ID, for comparison;
  * cProfile of status and batch requests: where the time goes (top functions by own time).
Each loop runs for --seconds (bounded) and counts what it did. Use with no server running.

Requests are WSGI environs prepared once with werkzeug's EnvironBuilder and copied per call, then
passed to app(environ, start_response) — what gunicorn does minus socket I/O and HTTP parsing. (Flask's
test_client() would add ~150 µs of test-only request building per call, larger than the views.)
"""
from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import os
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402
from bench_batch import BATCH, TARGET_PER_CORE, bodies  # noqa: E402


def wsgi_environ(method: str, path: str, headers: dict, body: bytes | None = None) -> dict:
    from werkzeug.test import EnvironBuilder
    builder = EnvironBuilder(path=path, method=method, headers=headers, data=body,
                             base_url="http://127.0.0.1:8000")
    try:
        environ = builder.get_environ()
    finally:
        builder.close()
    environ.pop("wsgi.input", None)
    return environ


def call_wsgi(app, environ: dict, body: bytes = b"") -> tuple[str, bytes]:
    environ = dict(environ)
    environ["wsgi.input"] = io.BytesIO(body)
    status = []
    result = app(environ, lambda s, h, exc_info=None: status.append(s))
    try:
        data = b"".join(result)
    finally:
        getattr(result, "close", lambda: None)()
    return status[0], data


class GcTimer:
    """Time spent in the cyclic garbage collector, per generation (gc.callbacks)."""

    def __init__(self):
        self.seconds = [0.0, 0.0, 0.0]
        self.count = [0, 0, 0]
        self._t0 = 0.0
        gc.callbacks.append(self._callback)

    def _callback(self, phase, info):
        if phase == "start":
            self._t0 = time.perf_counter()
        else:
            self.seconds[info["generation"]] += time.perf_counter() - self._t0
            self.count[info["generation"]] += 1

    def snapshot(self):
        return list(self.seconds), list(self.count)


GC = GcTimer()


def timed_loop(fn, seconds: float, max_iterations: int = 10_000_000) -> tuple[int, float, float]:
    """Call fn() until `seconds` pass; returns (calls, wall seconds, CPU seconds)."""
    n, wall0, cpu0 = 0, time.perf_counter(), time.process_time()
    deadline = wall0 + seconds
    while n < max_iterations:
        for _ in range(20):
            fn()
        n += 20
        if time.perf_counter() >= deadline:
            break
    return n, time.perf_counter() - wall0, time.process_time() - cpu0


def profile(fn, calls: int, top: int = 18) -> str:
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(calls):
        fn()
    prof.disable()
    out = io.StringIO()
    stats = pstats.Stats(prof, stream=out).strip_dirs()
    stats.sort_stats("tottime").print_stats(top)
    out.write("\n--- by cumulative time ---\n")
    stats.sort_stats("cumulative").print_stats(top + 12)
    return out.getvalue()


def access_log_cost(app, status, log_path: Path, rounds: int = 7, calls: int = 20_000) -> dict:
    """The access log's CPU cost per status request, with logging configured exactly as the server
    configures it (serving.server_log_config: the service's JSON handler, batched writes) and the lines
    going to a real file: rounds with the log on and off alternate on one app, medians compared."""
    import logging.config
    import statistics
    from credit_service.logging_setup import server_log_config

    operations = app.wsgi_app
    while not hasattr(operations, "access_log"):
        operations = getattr(operations, "app", None) or operations.wsgi_app
    log_path.parent.mkdir(parents=True, exist_ok=True)
    saved_stderr = os.dup(2)
    log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    os.dup2(log_fd, 2)  # the handler writes to stderr, as in a server process
    try:
        logging.config.dictConfig(server_log_config())
        per_call = {True: [], False: []}
        for _ in range(rounds):
            for on in (True, False):
                operations.access_log = on
                started = time.process_time()
                for _ in range(calls):
                    status()
                per_call[on].append((time.process_time() - started) / calls * 1e6)
        logging.shutdown()  # writes what is pending
    finally:
        os.dup2(saved_stderr, 2)
        os.close(log_fd)
        operations.access_log = False
    lines = sum(1 for _ in log_path.open()) if log_path.exists() else 0
    on, off = statistics.median(per_call[True]), statistics.median(per_call[False])
    common.say(f"access log (as the server writes it, to {log_path.name}): status {on:.1f} µs CPU/request with it, "
               f"{off:.1f} without → +{on - off:.1f} µs ({(on - off) / off * 100:.0f} %); {lines:,} lines written")
    if lines < rounds * calls:
        raise SystemExit(f"FAILED: the access log wrote {lines:,} lines for {rounds * calls:,} requests")
    return {"us_cpu_with": round(on, 2), "us_cpu_without": round(off, 2), "lines": lines,
            "rounds_with": [round(x, 2) for x in per_call[True]], "rounds_without": [round(x, 2) for x in per_call[False]]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("BENCH_INPROC_SECONDS", 5)))
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument("--no-access-log", action="store_true", help="skip the access log's cost")
    args = parser.parse_args()
    args.seconds = min(args.seconds, 30)

    from credit_service import create_app
    from credit_service.domain.status import status_on
    from credit_service.api.serializers import status_json
    from credit_service.domain.identity import mask_id_number
    from credit_service.settings import Settings

    token = os.environ.get("BENCH_SETTLEMENT_TOKEN") or common.create_token("settlement", common.PG_URL)[1]
    rss0 = common.rss_kib(os.getpid())
    # One load generator is one client (no rate limit); no access log: the figures are the app's own cost
    # (the HTTP benchmarks run with the access log on, as in production).
    app = create_app(Settings.from_env(database_url=common.PG_URL, scheduler="off", index_poll_seconds=0,
                                       rate_limit="off", access_log=False))
    c = app.extensions["credit_service"]
    rss_app = common.rss_kib(os.getpid())
    started = time.perf_counter()
    c.index.ensure_ready()
    load_s = time.perf_counter() - started
    rss_index = common.rss_kib(os.getpid())
    n_subjects = len(c.index._facts)  # read-only peek for the report
    tracked = len(gc.get_objects())
    index_mib = (rss_index - rss_app) / 1024
    common.say(f"in-process status index load: {n_subjects:,} subjects in {load_s:.2f} s; "
               f"RSS {rss_app / 1024:.0f} → {rss_index / 1024:.0f} MiB (+{index_mib:.0f} MiB, "
               f"≈{(rss_index - rss_app) * 1024 / max(n_subjects, 1):.0f} B/subject); "
               f"{tracked:,} objects tracked by the cyclic GC")

    on = common.today()
    mix = common.id_mix()
    paths = [common.status_path(n, on) for n, _ in mix]
    headers = {"Authorization": f"Bearer {token}"}
    batch_bodies = [b.encode() for b in bodies(on)]
    batch_headers = dict(headers, **{"Content-Type": "application/json"})
    ping_env = wsgi_environ("GET", "/ping", {})
    status_envs = [wsgi_environ("GET", p, headers) for p in paths]
    query_bodies = [json.dumps({"subject_type": "insured", "id_number": n, "on": on.isoformat()}).encode()
                    for n, _ in mix]
    query_envs = [wsgi_environ("POST", "/api/v1/status/query", dict(headers, **{"Content-Type": "application/json"}),
                               b) for b in query_bodies]
    batch_envs = [wsgi_environ("POST", "/api/v1/status/batch", batch_headers, b) for b in batch_bodies]
    state = {"i": 0}

    def ping():
        code, _ = call_wsgi(app, ping_env)
        assert code == "200 OK"

    def status():
        state["i"] = (state["i"] + 1) % len(paths)
        code, data = call_wsgi(app, status_envs[state["i"]])
        assert code == "200 OK", data

    def status_query():  # the POST form (issue 9): the number in the body, not the URL
        state["i"] = (state["i"] + 1) % len(query_bodies)
        code, data = call_wsgi(app, query_envs[state["i"]], query_bodies[state["i"]])
        assert code == "200 OK", data

    def batch():
        state["i"] = (state["i"] + 1) % len(batch_bodies)
        code, data = call_wsgi(app, batch_envs[state["i"]], batch_bodies[state["i"]])
        assert code == "200 OK", data[:200]

    client = app.test_client()

    def batch_test_client():  # the same request through Flask's test client, for comparison
        state["i"] = (state["i"] + 1) % len(batch_bodies)
        r = client.post("/api/v1/status/batch", data=batch_bodies[state["i"]], headers=batch_headers)
        assert r.status_code == 200, r.data[:200]

    keys = [("insured", n) for n, _ in mix]

    def domain_only():  # what the batch view does per ID, without HTTP/JSON: 1000 IDs per call
        for t, n in keys[:BATCH]:
            status_json(t, mask_id_number(n), status_on(t, c.index.get(t, n), on))

    for fn in (ping, status, status_query, batch, batch_test_client, domain_only):  # warm caches (token cache, code paths)
        for _ in range(5 if "batch" in fn.__name__ else 50):
            fn()

    figures = {}
    for name, fn, per_call in (("ping", ping, 1), ("status", status, 1), ("status_query", status_query, 1),
                               ("batch", batch, BATCH),
                               ("batch_test_client", batch_test_client, BATCH), ("domain_only", domain_only, BATCH)):
        gc_s0, gc_n0 = GC.snapshot()
        calls, wall, cpu = timed_loop(fn, args.seconds)
        gc_s1, gc_n1 = GC.snapshot()
        gc_s = [b - a for a, b in zip(gc_s0, gc_s1)]
        gc_n = [b - a for a, b in zip(gc_n0, gc_n1)]
        figures[name] = {"calls": calls, "wall_s": round(wall, 3), "cpu_s": round(cpu, 3),
                         "gc_seconds_by_generation": [round(x, 3) for x in gc_s], "gc_collections": gc_n,
                         "gc_share": round(sum(gc_s) / wall, 3),
                         "per_second": round(calls / wall, 1), "items_per_second": round(calls * per_call / wall),
                         "us_per_call": round(wall / calls * 1e6, 1)}
    for name, f in figures.items():
        common.say(f"  gc during {name:17s}: {f['gc_share'] * 100:5.1f}% of wall time "
                   f"(collections gen0/1/2 {f['gc_collections']}, seconds {f['gc_seconds_by_generation']})")
    ratio = figures["status"]["per_second"] / figures["ping"]["per_second"]
    per_core = figures["batch"]["items_per_second"]
    common.say(f"in-process GET /ping      : {figures['ping']['per_second']:9.0f} req/s  "
               f"({figures['ping']['us_per_call']:.0f} µs/request)")
    common.say(f"in-process GET …/status   : {figures['status']['per_second']:9.0f} req/s  "
               f"({figures['status']['us_per_call']:.0f} µs/request); status/hello {ratio:.3f}")
    common.say(f"in-process POST /status/query: {figures['status_query']['per_second']:9.0f} req/s  "
               f"({figures['status_query']['us_per_call']:.0f} µs/request)")
    common.say(f"in-process batch (1000 IDs): {figures['batch']['per_second']:9.1f} req/s = {per_core:,} IDs/s "
               f"per core (target ≥ {TARGET_PER_CORE:,}) {'MET' if per_core >= TARGET_PER_CORE else 'MISSED'}")
    common.say(f"  (same through app.test_client(): {figures['batch_test_client']['items_per_second']:,} IDs/s)")
    common.say(f"domain only (status_on + status_json + mask): {figures['domain_only']['items_per_second']:,} IDs/s "
               f"per core — the ceiling without HTTP/JSON")

    if not args.no_access_log:
        figures["access_log"] = access_log_cost(app, status, common.RESULTS / "tmp" / "inprocess-access.log")

    profiles = {}
    if not args.no_profile:
        profiles["status"] = profile(status, 3000)
        profiles["batch"] = profile(batch, 30)
        profiles["ping"] = profile(ping, 3000)
        out = common.RESULTS / f"{common.run_id()}-profile.txt"
        out.write_text("".join(f"==== {k} ====\n{v}\n" for k, v in profiles.items()))
        common.say(f"cProfile written to {out}")
        for k in ("status", "batch"):
            common.say(f"---- cProfile {k} (top by own time) ----")
            common.say("\n".join(profiles[k].split("--- by cumulative time ---")[0].strip().splitlines()[:30]))

    common.write_result("inprocess", {
        "on": on.isoformat(), "index": {"subjects": n_subjects, "load_seconds": round(load_s, 2),
                                        "rss_mib_before": round(rss_app / 1024, 1),
                                        "rss_mib_after": round(rss_index / 1024, 1),
                                        "index_mib": round(index_mib, 1), "gc_tracked_objects": tracked, "rss_mib_interpreter": round(rss0 / 1024, 1)},
        "figures": figures, "status_hello_ratio": round(ratio, 4),
        "batch_ids_per_second_per_core": per_core, "target_per_core": TARGET_PER_CORE,
        "met": per_core >= TARGET_PER_CORE})
    c.engine.dispose()


if __name__ == "__main__":
    main()
