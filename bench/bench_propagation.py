#!/usr/bin/env python3
"""Propagation across nodes (issue 13, target: every node answers a change within 100 ms at p99).

    .venv/bin/python bench/bench_propagation.py [--changes 200] [--workers 1] [--poll-seconds 0.5]

Starts two servers (two nodes: separate processes, each with its own data directory) on the same
PostgreSQL database. For each change it
records a violation for a new person through one node, alternating, and from the moment the writer's
201 has arrived asks the *other* node for that person's status until it says settlement is no longer
allowed. With one worker per node the reader uses one keep-alive connection (one worker, asked every
~0.5 ms); with several it opens a new connection per request and waits for 4 such answers in a row (so
that every worker has it, very likely) and takes the first of them. The figure includes one HTTP round
trip (~1 ms here). Any answer other than 200/201 fails the run. Polling stays on at its default interval
(0.5 s) as the fallback: a p99 well under it shows the notifications at work.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

TARGET_P99_MS = 100.0
ON = "2025-06-01"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--changes", type=int, default=200)
    parser.add_argument("--workers", type=int, default=1, help="workers per node (default 1)")
    parser.add_argument("--poll-seconds", type=float, default=0.5, help="the fallback poll interval")
    args = parser.parse_args()
    args.changes = max(10, min(args.changes, 2000))
    os.environ["CREDIT_SERVICE_INDEX_POLL_SECONDS"] = str(args.poll_seconds)
    import requests

    common.install_cleanup()
    common.db_upgrade(common.PG_URL)
    _, admin = common.create_token("admin", common.PG_URL)
    _, settlement = common.create_token("settlement", common.PG_URL)
    common.say(common.RATE_LIMIT_NOTE)
    nodes = []
    for k in range(2):
        # a data directory per node, as on separate machines: the workers of a node share a change bell
        # there (change_bell.py), so two nodes on one directory would not be measuring NOTIFY
        os.environ["CREDIT_SERVICE_DATA_DIR"] = tempfile.mkdtemp(prefix=f"credit-propagation-node{k}-")
        nodes.append(common.Server(common.PG_URL, workers=args.workers,
                                   log_path=common.RESULTS / f"{common.run_id()}-propagation-{k}.log").start())
    rng, tag = random.Random(), uuid.uuid4().hex[:8]
    writer_session, reader_session = requests.Session(), requests.Session()
    admin_h, settle_h = {"Authorization": f"Bearer {admin}"}, {"Authorization": f"Bearer {settlement}"}
    delays, polls = [], []
    try:
        for node in nodes:  # every worker has loaded its index before anything is timed
            common.ensure_warm(common.Target(node.base_url, node.log_path, node.pid, args.workers, None), settlement,
                               f"/api/v1/subjects/insured/{common.import_id(rng)}/status?on={ON}")
        for i in range(args.changes):
            writer, reader = nodes[i % 2], nodes[(i + 1) % 2]
            number = common.import_id(rng)
            path = f"/api/v1/subjects/insured/{number}/status?on={ON}"
            body = {"source": "bench-propagation", "source_ref": f"BP-{tag}-{i:05d}",
                    "subject": {"subject_type": "insured", "id_number": number, "name": "张三"},
                    "region": "370900", "occurred_on": "2025-03-02", "determined_on": "2025-04-10",
                    "fund_loss": "150000.00", "handling": "administrative", "fraud": False, "points": None,
                    "description": "虚构医疗服务"}
            r = writer_session.post(writer.base_url + "/api/v1/violations", json=body, headers=admin_h, timeout=30)
            if r.status_code != 201:
                raise SystemExit(f"FAILED: the write answered {r.status_code}: {r.text[:200]}")
            started = time.perf_counter()
            in_a_row, first, asked = 0, None, 0
            while in_a_row < (1 if args.workers == 1 else 4):
                get = reader_session.get if args.workers == 1 else requests.get
                answer = get(reader.base_url + path, headers=settle_h, timeout=30)
                asked += 1
                if answer.status_code != 200:
                    raise SystemExit(f"FAILED: a status check answered {answer.status_code}: {answer.text[:200]}")
                if answer.json()["settlement_allowed"]:
                    in_a_row, first = 0, None
                else:
                    in_a_row += 1
                    first = first if first is not None else time.perf_counter() - started
                if time.perf_counter() - started > 10:
                    raise SystemExit(f"FAILED: change {i} not visible on the other node within 10 s")
            delays.append(first * 1000)
            polls.append(asked)
            time.sleep(0.02)
    finally:
        for node in nodes:
            node.stop()
    q = statistics.quantiles(delays, n=100)
    p50, p90, p99 = statistics.median(delays), q[89], q[98]
    met = p99 <= TARGET_P99_MS
    common.say(f"propagation to the other node, {args.changes} changes, {args.workers} worker(s) per node, "
               f"poll fallback {args.poll_seconds} s (measured under load: a shared 2-core machine):")
    common.say(f"  p50 {p50:.1f} ms, p90 {p90:.1f} ms, p99 {p99:.1f} ms, max {max(delays):.1f} ms "
               f"(target p99 ≤ {TARGET_P99_MS:.0f} ms) {'MET' if met else 'MISSED'}")
    path = common.write_result("propagation", {
        "changes": args.changes, "workers_per_node": args.workers, "poll_seconds": args.poll_seconds,
        "p50_ms": round(p50, 2), "p90_ms": round(p90, 2), "p99_ms": round(p99, 2), "max_ms": round(max(delays), 2),
        "target_p99_ms": TARGET_P99_MS, "met": met, "delays_ms": [round(d, 2) for d in delays],
        "requests_per_change": polls})
    common.say(f"results: {path}")
    print(json.dumps({"p50_ms": round(p50, 1), "p99_ms": round(p99, 1)}))


if __name__ == "__main__":
    main()
