#!/usr/bin/env python3
"""The node's status index snapshot: how long its build takes, its size, and 1,000-ID batches on it
(issue 13 item 7; credit_service/adapters/node_index.py, shared_index.py) — all in one run.

    BENCH_DATABASE_URL=… .venv/bin/python bench/bench_snapshot.py [--subjects 500000] [--changes 1000]

Seeds N subjects and 2N violations (bench/seed.py, skipped when already seeded), then, in one process:
  * the node's full build (node_index.build_snapshot, as the build's child process runs it): seconds
    (wall and CPU) per million subjects, bytes per subject;
  * 1,000-ID batches (POST /api/v1/status/batch, the 10,000-ID mix of bench_batch.py, called as a WSGI
    app as bench_inprocess.py does) on the in-memory index and on the snapshot, alternated: CPU time per
    batch, with every ID asked for the first time (the snapshot's decoded-facts cache emptied before each
    pass) and again (cached); the ratios shared/memory;
  * `--changes` subjects changed through the feed (half of them have their measure revoked, half are
    only named in the feed), then the node's next build — an update of the previous snapshot — timed,
    and a full build of the same data timed and compared byte for byte with it; the changes are then
    undone (revocations lifted, named in the feed again).
Target: the node's build ≤ 2 s per million subjects. Every answer is checked (200, 1,000 results, the
mix's number of suspended subjects); any other answer fails the run. The load average is printed beside
each figure: the machine is shared.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402
from bench_batch import BATCH, bodies  # noqa: E402
from bench_inprocess import call_wsgi, wsgi_environ  # noqa: E402


def load() -> str:
    return "load average " + " ".join(f"{x:.1f}" for x in os.getloadavg())


def timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subjects", type=int, default=500_000)
    parser.add_argument("--changes", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5, help="batch passes per store and cache state")
    parser.add_argument("--no-seed", action="store_true")
    args = parser.parse_args()
    if not args.no_seed:
        subprocess.run([sys.executable, str(Path(__file__).parent / "seed.py"), "--subjects", str(args.subjects),
                        "--violations", str(2 * args.subjects)], check=True)
    data_dir = Path(tempfile.mkdtemp(prefix="credit-bench-snapshot-"))
    os.environ["CREDIT_SERVICE_DATA_DIR"] = str(data_dir)

    from sqlalchemy import text
    from credit_service import create_app
    from credit_service.adapters.node_index import build_snapshot, keys_tag
    from credit_service.settings import Settings

    token = common.create_token("settlement", common.PG_URL)[1]
    made = {}
    for store in ("memory", "shared"):
        made[store] = create_app(Settings.from_env(database_url=common.PG_URL, scheduler="off", index_poll_seconds=0,
                                                   rate_limit="off", access_log=False, index_store=store))
    memory, shared = (made[s].extensions["credit_service"] for s in ("memory", "shared"))
    engine, tag = shared.engine, keys_tag(shared.keys)
    path = shared.index._snapshots.path
    path.parent.mkdir(parents=True, exist_ok=True)

    # 1. the node's full build
    said, wall, cpu = timed(lambda: build_snapshot(path, engine, tag))
    from credit_service.adapters.shared_index import Snapshot
    from credit_service.adapters.status_index import UNREADABLE
    n = len(Snapshot(path, UNREADABLE))
    size = path.stat().st_size
    figures = {"subjects": n, "full_build_s": wall, "full_build_cpu_s": cpu, "bytes": size,
               "load_full": os.getloadavg()}
    common.say(f"full build: {said}")
    common.say(f"  {wall:.1f} s wall, {cpu:.1f} s CPU for {n:,} subjects = {wall / n * 1e6:.1f} s per million "
               f"(CPU {cpu / n * 1e6:.1f}); {size / n:.1f} B/subject (target ≤ 64) [{load()}]")

    # 2. 1,000-ID batches, in-memory index against the snapshot, cold and warm
    memory.index.ensure_ready()
    shared.index.ensure_ready()  # maps the snapshot just built (young enough)
    assert shared.index.last_load_source == "node snapshot"
    on = common.today()
    mix = common.id_mix()  # as bodies() makes them
    suspended = sum(restricted for _, restricted in mix)
    batch_bodies = [b.encode() for b in bodies(on)]
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    envs = [wsgi_environ("POST", "/api/v1/status/batch", headers, b) for b in batch_bodies]

    def one_pass(app) -> float:
        """Every batch body once; CPU seconds; every answer checked."""
        restricted = 0
        cpu0 = time.process_time()
        for env, body in zip(envs, batch_bodies):
            code, data = call_wsgi(app, env, body)
            if code != "200 OK":
                raise SystemExit(f"FAILED: batch answered {code}: {data[:200]!r}")
            results = json.loads(data)["results"]
            if len(results) != BATCH:
                raise SystemExit(f"FAILED: {len(results)} results for {BATCH} IDs")
            restricted += sum(not r["settlement_allowed"] for r in results)
        spent = time.process_time() - cpu0
        if restricted != suspended:
            raise SystemExit(f"FAILED: {restricted} subjects suspended in the answers, the mix has {suspended}")
        return spent

    snapshot = shared.index._facts.snapshot
    for app in made.values():  # code paths and token caches warm
        one_pass(app)
    cpu_s: dict[str, list[float]] = {"memory cold": [], "shared cold": [], "memory warm": [], "shared warm": []}
    for _ in range(args.rounds):
        cpu_s["memory cold"].append(one_pass(made["memory"]))
        snapshot._cache.clear()
        snapshot._year_sets.clear()
        cpu_s["shared cold"].append(one_pass(made["shared"]))
        cpu_s["memory warm"].append(one_pass(made["memory"]))
        cpu_s["shared warm"].append(one_pass(made["shared"]))
    ids = len(batch_bodies) * BATCH
    rate = {k: ids / statistics.median(v) for k, v in cpu_s.items()}
    figures["batch_ids_per_cpu_s"] = rate
    figures["load_batch"] = os.getloadavg()
    for state in ("cold", "warm"):
        what = "every ID asked for the first time" if state == "cold" else "asked before"
        memory_rate, shared_rate = rate["memory " + state], rate["shared " + state]
        common.say(f"batch of {BATCH:,} IDs, {state} ({what}): memory {memory_rate:,.0f} IDs per CPU second, "
                   f"snapshot {shared_rate:,.0f} → ratio {shared_rate / memory_rate:.2f} (median of {args.rounds}) "
                   f"[{load()}]")

    # 3. changes, the node's next build (an update), and a full build of the same data
    k = args.changes
    with engine.begin() as c:
        revoked = c.execute(text("SELECT id, subject_type, lookup_key FROM measures WHERE revoked_on IS NULL "
                                 "ORDER BY id LIMIT :k"), {"k": k // 2}).all()
        touched = c.execute(text("SELECT DISTINCT subject_type, lookup_key FROM violations ORDER BY lookup_key "
                                 "LIMIT :k"), {"k": k - len(revoked)}).all()
        changed = [(t, key) for _, t, key in revoked] + [tuple(r) for r in touched]

    def feed(c, subjects) -> None:
        c.execute(text("INSERT INTO subject_changes (subject_type, lookup_key, changed_at, origin) "
                       "VALUES (:t, :k, now(), 'bench')"), [{"t": t, "k": key} for t, key in subjects])

    with engine.begin() as c:
        c.execute(text("UPDATE measures SET revoked_on = CURRENT_DATE WHERE id = ANY(:ids)"),
                  {"ids": [r[0] for r in revoked]})
        feed(c, changed)
    try:
        said, wall, cpu = timed(lambda: build_snapshot(path, engine, tag))
        if not said.startswith("updated"):
            raise SystemExit(f"FAILED: the node's next build was not an update: {said}")
        common.say(f"next build after {len(changed):,} subjects changed: {said}")
        common.say(f"  {wall:.2f} s wall, {cpu:.2f} s CPU = {wall / n * 1e6:.2f} s per million subjects "
                   f"(CPU {cpu / n * 1e6:.2f}; target ≤ 2) [{load()}]")
        figures.update(update_s=wall, update_cpu_s=cpu, changes=len(changed), load_update=os.getloadavg())
        full = path.with_name("full.snapshot")
        said, wall, cpu = timed(lambda: build_snapshot(full, engine, tag))
        same = full.read_bytes() == path.read_bytes()
        common.say(f"full build of the same data: {wall:.1f} s wall, {cpu:.1f} s CPU ({wall / n * 1e6:.1f} s per "
                   f"million); byte for byte the update's: {'yes' if same else 'NO'} [{load()}]")
        figures.update(full_again_s=wall, same_bytes=same)
        if not same:
            raise SystemExit("FAILED: the updated snapshot differs from the full build")
    finally:
        with engine.begin() as c:
            c.execute(text("UPDATE measures SET revoked_on = NULL WHERE id = ANY(:ids)"),
                      {"ids": [r[0] for r in revoked]})
            feed(c, changed)
    for app in made.values():
        app.extensions["credit_service"].index.stop()
        app.extensions["credit_service"].engine.dispose()
    shutil.rmtree(data_dir, ignore_errors=True)
    common.write_result("snapshot", figures)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
