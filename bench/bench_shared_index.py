#!/usr/bin/env python3
"""The status index as one snapshot file per node (issue 13 item 7; credit_service/adapters/shared_index.py).

    BENCH_DATABASE_URL=… .venv/bin/python bench/bench_shared_index.py [--subjects 500000] [--workers 2]

Seeds the database with N subjects and 2N violations (bench/seed.py, skipped when already seeded),
then prints:
  * the in-memory load as today (records.load_subject_facts) — seconds and the RSS it adds;
  * writing the snapshot from it — seconds, file size, bytes per subject;
  * --workers fresh processes that each map the snapshot and answer 200,000 look-ups: seconds to map,
    RSS and PSS (shared pages split among the processes mapping them) per worker;
  * look-up µs, dict against snapshot (first touch and cached), on the same keys;
  * a check that the snapshot answers every subject as the dict does.

--synthetic: no database — N subjects shaped like the seed (90 % insured, every 5th insured with an
active suspension, one or two record years) made in memory, for sizes the database here cannot seed in
time (5,000,000). The in-memory load is then not measured (its objects are shared, unlike a load's).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

WORKER = r"""
import json, os, random, sys, time
from pathlib import Path
from credit_service.adapters.shared_index import Snapshot
from credit_service.adapters.status_index import UNREADABLE
path, keys_file = sys.argv[1], sys.argv[2]
keys = [tuple(k) for k in json.loads(Path(keys_file).read_text())]
def status():
    return {l.split(":")[0]: int(l.split()[1]) for l in Path("/proc/self/status").read_text().splitlines()
            if l.startswith(("VmRSS", "RssAnon", "RssFile"))}
def pss():
    for l in Path("/proc/self/smaps_rollup").read_text().splitlines():
        if l.startswith("Pss:"):
            return int(l.split()[1])
before = status()
t = time.perf_counter(); snap = Snapshot(Path(path), UNREADABLE); mapped = time.perf_counter() - t
t = time.perf_counter(); found = sum(snap.get(k) is not None for k in keys); first = time.perf_counter() - t
t = time.perf_counter(); sum(snap.get(k) is not None for k in keys); again = time.perf_counter() - t
# touch every page once (a long-running worker ends up with the whole file resident)
with open(path, "rb") as f:
    pass
view = snap._map
for at in range(0, len(view), 4096):
    view[at]
print(json.dumps({"map_s": mapped, "found": found, "lookups": len(keys), "first_us": first / len(keys) * 1e6,
                  "cached_us": again / len(keys) * 1e6, "before": before, "after": status(), "pss_kib": pss()}))
sys.stdout.flush()
sys.stdin.read()  # hold the mapping until every worker has measured
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subjects", type=int, default=500_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-seed", action="store_true", help="use the database as it is")
    parser.add_argument("--synthetic", action="store_true", help="no database: subjects made in memory")
    args = parser.parse_args()

    from sqlalchemy import create_engine
    from credit_service.adapters import records

    if args.synthetic:
        return synthetic(args)
    if not args.no_seed:
        subprocess.run([sys.executable, str(Path(__file__).parent / "seed.py"), "--subjects", str(args.subjects),
                        "--violations", str(2 * args.subjects)], check=True)
    engine = create_engine(common.PG_URL)
    rss0 = common.rss_kib(os.getpid())
    started = time.perf_counter()
    with engine.connect() as connection:
        head = records.latest_change_seq(connection)
        facts = records.load_subject_facts(connection)
    load_s = time.perf_counter() - started
    rss1 = common.rss_kib(os.getpid())
    n = len(facts)
    common.say(f"in-memory load (today): {n:,} subjects in {load_s:.1f} s ({load_s / n * 1e6:.2f} s per million); "
               f"+{(rss1 - rss0) / 1024:.0f} MiB RSS ({(rss1 - rss0) * 1024 / n:.0f} B/subject) in each worker")

    measure_and_map(facts, head, load_s, (rss1 - rss0) / 1024, args.workers)


def synthetic(args) -> None:
    import base64
    import hashlib
    from datetime import date, timedelta
    from credit_service.domain.status import MeasureFact, SubjectFacts
    started = time.perf_counter()
    one, two = SubjectFacts(record_years=frozenset({2025})), SubjectFacts(record_years=frozenset({2024, 2025}))
    facts = {}
    today = date.today()
    for i in range(args.subjects):
        key = "t1:" + base64.urlsafe_b64encode(hashlib.sha256(i.to_bytes(8, "little")).digest()).decode()[:43]
        subject_type = common.subject_type_of(i)
        if common.is_restricted(i):
            starts = today - timedelta(days=i % 60)
            facts[(subject_type, key)] = SubjectFacts(
                measures=(MeasureFact(hashlib.md5(key.encode()).hexdigest(), "settlement_suspension",
                                      "370102", starts, starts + timedelta(days=182), article="第九条第三项"),),
                record_years=frozenset({2025}))
        else:
            facts[(subject_type, key)] = two if i % 2 else one
    common.say(f"synthetic: {len(facts):,} subjects made in {time.perf_counter() - started:.0f} s")
    measure_and_map(facts, 0, None, None, args.workers)


def measure_and_map(facts, head, load_s, dict_rss_mib, workers_n) -> None:
    from credit_service.adapters.shared_index import Snapshot, write_snapshot
    from credit_service.adapters.status_index import UNREADABLE
    from credit_service.domain.status import CLEAN
    n = len(facts)
    directory = Path(tempfile.mkdtemp(prefix="credit-shared-index-"))
    path = directory / "status-index.snapshot"
    started = time.perf_counter()
    size = write_snapshot(path, facts, head, unreadable_marker=UNREADABLE)
    write_s = time.perf_counter() - started
    total = f"; load + write {(load_s + write_s) / n * 1e6:.2f} s per million (target ≤ 2)" if load_s else ""
    common.say(f"snapshot written: {size / 2**20:.0f} MiB = {size / n:.1f} B/subject (target ≤ 64) in {write_s:.1f} s "
               f"({write_s / n * 1e6:.2f} s per million){total}")

    keys = list(facts)
    rng = random.Random(7)
    sample = rng.sample(keys, min(200_000, n))
    absent = [("insured", f"absent-{i}") for i in range(len(sample) // 4)]
    snapshot = Snapshot(path, UNREADABLE)
    started = time.perf_counter()
    mismatches = sum(snapshot.get(k, CLEAN) != facts[k] for k in keys) + sum(
        snapshot.get(k, CLEAN) is not CLEAN for k in absent)
    common.say(f"every subject compared with the in-memory index: {mismatches} differences "
               f"({time.perf_counter() - started:.1f} s)")
    lookups = sample + absent
    rng.shuffle(lookups)
    get = facts.get
    started = time.perf_counter()
    for k in lookups:
        get(k, CLEAN)
    dict_us = (time.perf_counter() - started) / len(lookups) * 1e6
    del snapshot
    keys_file = directory / "keys.json"
    keys_file.write_text(json.dumps(lookups))
    del facts, keys
    workers = [subprocess.Popen([sys.executable, "-c", WORKER, str(path), str(keys_file)], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True) for _ in range(workers_n)]
    results = [json.loads(w.stdout.readline()) for w in workers]
    for w in workers:
        w.stdin.close()
        w.wait()
    for i, r in enumerate(results):
        common.say(f"worker {i + 1}: mapped in {r['map_s'] * 1000:.1f} ms; look-ups {r['first_us']:.2f} µs first, "
                   f"{r['cached_us']:.2f} µs cached (dict: {dict_us:.2f} µs); RSS {r['before']['VmRSS'] / 1024:.0f} → "
                   f"{r['after']['VmRSS'] / 1024:.0f} MiB (file pages {r['after']['RssFile'] / 1024:.0f} MiB, "
                   f"shared by the node), PSS {r['pss_kib'] / 1024:.0f} MiB")
    path.unlink()
    keys_file.unlink()
    directory.rmdir()
    print(json.dumps({"subjects": n, "load_s": load_s, "dict_rss_mib": dict_rss_mib, "write_s": write_s,
                      "bytes_per_subject": size / n, "mismatches": mismatches, "workers": results}))


if __name__ == "__main__":
    main()
