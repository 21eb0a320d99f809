#!/usr/bin/env python3
"""Status throughput per node with 1 and with 2 nodes (issue 13), each figure as a ratio to hello-world.

    .venv/bin/python bench/bench_nodes.py [--duration 10] [--workers 2] [--connections 16]

Seeds credit_bench if needed, then for 1 node and for 2 nodes (separate `credit-service serve` processes
on the same database, `--workers` each): wrk -t1 -cN against GET /ping and against the status check (the
10,000-ID mix of bench_status.py), one wrk per node at the same time. Prints req/s per node and in all,
and status/hello. On this 2-core machine two nodes share the same cores, so per-node figures halve: what
the second node shows is that nodes add no cost of their own (no coordination on the status path).
Any error answer fails the figure.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=int(os.environ.get("BENCH_DURATION", 10)))
    parser.add_argument("--rounds", type=int, default=int(os.environ.get("BENCH_ROUNDS", 2)))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--no-seed", action="store_true")
    args = parser.parse_args()
    args.duration, args.rounds = min(args.duration, 60), min(args.rounds, 5)
    common.install_cleanup()
    if not args.no_seed:
        import seed
        seed.seed(common.PG_URL, 1_000_000, common.SEED_SUBJECTS, reseed=False)
    common.db_upgrade(common.PG_URL)
    token = common.create_token("settlement", common.PG_URL)[1]
    common.say(common.RATE_LIMIT_NOTE)
    on = common.today()
    mix = common.id_mix()
    paths = common.scratch_dir() / "nodes-status-paths.txt"
    paths.write_text("".join(common.status_path(n, on) + "\n" for n, _ in mix))
    env = {"BENCH_TOKEN": token, "BENCH_PATHS": str(paths)}
    results = {}
    nodes: list[common.Server] = []
    try:
        for count in (1, 2):
            while len(nodes) < count:
                node = common.Server(common.PG_URL, workers=args.workers,
                                     log_path=common.RESULTS / f"{common.run_id()}-nodes-{len(nodes)}.log").start()
                common.ensure_warm(common.Target(node.base_url, node.log_path, node.pid, args.workers), token,
                                   common.status_path(mix[0][0], on))
                nodes.append(node)
            figures = {"hello": [], "status": []}
            for _ in range(args.rounds):
                for kind in ("hello", "status"):
                    runs = _concurrent_wrk(nodes, kind, args, env)
                    if any(common.error_count(w) for w in runs):
                        raise SystemExit(f"FAILED: error answers in {kind} with {count} node(s): "
                                         f"{[w['errors'] for w in runs]}")
                    figures[kind].append([w["requests_per_second"] for w in runs])
            per_node = {k: statistics.mean(statistics.mean(r) for r in v) for k, v in figures.items()}
            total = {k: statistics.mean(sum(r) for r in v) for k, v in figures.items()}
            ratio = per_node["status"] / per_node["hello"]
            results[count] = {"per_node": per_node, "total": total, "ratio": ratio}
            common.say(f"{count} node(s) × {args.workers} workers: per node hello {per_node['hello']:,.0f} req/s, "
                       f"status {per_node['status']:,.0f} req/s (ratio {ratio:.2f}); all nodes: hello "
                       f"{total['hello']:,.0f}, status {total['status']:,.0f} req/s")
    finally:
        for node in nodes:
            node.stop()
    common.write_result("nodes", {"workers_per_node": args.workers, "connections": args.connections,
                                  "duration_s": args.duration, "rounds": args.rounds,
                                  "results": {str(k): v for k, v in results.items()}})


def _concurrent_wrk(nodes, kind, args, env) -> list[dict]:
    out: list[dict | None] = [None] * len(nodes)

    def one(i, node):
        if kind == "hello":
            out[i] = common.run_wrk(node.base_url + "/ping", "ping.lua", args.duration, args.connections)
        else:
            out[i] = common.run_wrk(node.base_url + "/", "status.lua", args.duration, args.connections, env=env)
    threads = [threading.Thread(target=one, args=(i, n)) for i, n in enumerate(nodes)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


if __name__ == "__main__":
    main()
