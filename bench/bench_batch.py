#!/usr/bin/env python3
"""Batch status throughput: POST /api/v1/status/batch, 1000 subjects per request, through wrk.

    .venv/bin/python bench/bench_batch.py [--duration 15 --connections 4]

IDs/s = req/s × 1000. Per core = IDs/s ÷ 2: the server has 2 worker processes on a 2-core machine, so
each worker has at most one core (wrk and PostgreSQL's idle polling share the same cores, so this
per-core figure is a lower bound; bench/bench_inprocess.py gives the single-process figure without wrk).
Target ≥ 100,000 IDs/s per core. The 10,000-ID mix of bench_status.py is cut into 10 bodies.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

TARGET_PER_CORE = 100_000
BATCH = 1000


def bodies(on, n_ids: int = 10_000) -> list[str]:
    mix = common.id_mix(n_ids)
    return [json.dumps({"on": on.isoformat(), "subjects": [{"subject_type": "insured", "id_number": n}
                                                          for n, _ in mix[k:k + BATCH]]})
            for k in range(0, len(mix), BATCH)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    common.add_server_args(parser)
    parser.add_argument("--duration", type=int, default=int(os.environ.get("BENCH_BATCH_DURATION", 15)))
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--cores", type=int, default=os.cpu_count() or 2,
                        help="cores the workers run on, for the per-core figure (default: this machine's)")
    parser.add_argument("--no-seed", action="store_true")
    args = parser.parse_args()
    args.duration = min(args.duration, 60)

    common.run_against_seeded_server(args, "batch", run)


def run(target: common.Target, token: str, args) -> dict:
    on = common.today()
    body_list = bodies(on)
    body_file = common.scratch_dir() / "batch-bodies.txt"
    body_file.write_text("".join(b + "\n" for b in body_list))
    mix = common.id_mix()
    warm = common.ensure_warm(target, token, common.status_path(mix[0][0], on))
    if warm:
        common.say(f"warmed the status index: {warm}")

    import requests  # the project depends on it
    check = requests.post(target.base_url + "/api/v1/status/batch", data=body_list[0], timeout=60,
                          headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    results = check.json()["results"] if check.ok else None
    if not results or len(results) != BATCH:
        raise SystemExit(f"batch check failed: {check.status_code} {check.text[:300]}")
    blocked = sum(not r["settlement_allowed"] for r in results)
    expected = sum(r for _, r in mix[:BATCH])
    if blocked != expected:
        raise SystemExit(f"batch check: {blocked} blocked, expected {expected}")
    common.say(f"check ok: 1000 results, {blocked} suspended, response {len(check.content):,} bytes")

    env = {"BENCH_TOKEN": token, "BENCH_BODIES": str(body_file)}
    common.run_wrk(target.base_url + "/", "batch.lua", 3, args.connections, env=env)  # warm-up
    w = common.run_wrk(target.base_url + "/", "batch.lua", args.duration, args.connections, env=env)
    failed = common.error_count(w) > 0
    if failed:
        common.say(f"ERRORS: {w['errors']} — the figure FAILS")
    rps = w["requests_per_second"]
    ids = rps * BATCH
    per_core = ids / args.cores
    common.say(f"batch POST /api/v1/status/batch (1000 IDs): {rps:8.1f} req/s  (wrk -t1 -c{args.connections} "
               f"-d{args.duration}s, p50 {w['latency_ms']['p50']:.0f} ms, p99 {w['latency_ms']['p99']:.0f} ms)")
    common.say(f"  IDs/s = {rps:.1f} × 1000 = {ids:,.0f};  per core = {ids:,.0f} / {args.cores} cores "
               f"= {per_core:,.0f}  (target ≥ {TARGET_PER_CORE:,}) {common.verdict(per_core >= TARGET_PER_CORE, failed)}")
    return {"on": on.isoformat(), "batch_size": BATCH, "connections": args.connections, "duration_s": args.duration,
            "workers": target.workers, "cores": args.cores, "requests_per_second": round(rps, 2),
            "ids_per_second": round(ids), "ids_per_second_per_core": round(per_core),
            "per_core_method": f"req/s × {BATCH} ÷ {args.cores} cores (2 worker processes, wrk on the same cores)",
            "target_per_core": TARGET_PER_CORE, "met": per_core >= TARGET_PER_CORE and not failed, "failed": failed,
            "response_bytes": len(check.content), "wrk": w, "worker_rss_mib": target.worker_rss_mib()}


if __name__ == "__main__":
    main()
