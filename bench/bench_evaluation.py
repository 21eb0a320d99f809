#!/usr/bin/env python3
"""What the credit evaluation costs the status check, measured A/B in one process (issue 14: the status
throughput with the evaluation included may be no worse than without it by more than 5 %).

    .venv/bin/python bench/bench_evaluation.py [--rounds 10 --seconds 1]

One app on the seeded PostgreSQL database (index loaded once); the same prebuilt WSGI requests as
bench_inprocess.py (GET /ping, GET …/status over the 10,000-ID mix, POST /status/batch of 1000 IDs),
called alternately with the evaluation on (the rule book as configured) and off (the same rule book
without its evaluation rule set: status answers then carry score/grade null, exactly today's work).
Each of --rounds rounds runs every variant for --seconds; the figure is CPU µs per request
(time.process_time: steadier than wall time on a shared 2-core machine), median over rounds.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402
from bench_batch import BATCH, bodies  # noqa: E402
from bench_inprocess import call_wsgi, wsgi_environ  # noqa: E402

TARGET_LOSS = 0.05


def cpu_per_call(fn, seconds: float) -> float:
    n, wall0, cpu0 = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - wall0 < seconds:
        for _ in range(20):
            fn()
        n += 20
    return (time.process_time() - cpu0) / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=int(os.environ.get("BENCH_EVAL_ROUNDS", 10)))
    parser.add_argument("--seconds", type=float, default=1.0)
    args = parser.parse_args()
    args.rounds, args.seconds = max(1, min(args.rounds, 30)), min(args.seconds, 5)

    from dataclasses import replace

    from credit_service import create_app
    from credit_service.domain.evaluation import EVALUATION
    from credit_service.settings import Settings

    token = os.environ.get("BENCH_SETTLEMENT_TOKEN") or common.create_token("settlement", common.PG_URL)[1]
    app = create_app(Settings.from_env(database_url=common.PG_URL, scheduler="off", index_poll_seconds=0,
                                       rate_limit="off", access_log=False))
    c = app.extensions["credit_service"]
    c.index.ensure_ready()
    with_evaluation = c.rules
    without = replace(with_evaluation, rule_sets=tuple(rs for rs in with_evaluation.rule_sets if rs.kind != EVALUATION),
                      _selections={})

    on = common.today()
    mix = common.id_mix()
    headers = {"Authorization": f"Bearer {token}"}
    status_envs = [wsgi_environ("GET", common.status_path(n, on), headers) for n, _ in mix]
    batch_bodies = [b.encode() for b in bodies(on)]
    batch_envs = [wsgi_environ("POST", "/api/v1/status/batch", dict(headers, **{"Content-Type": "application/json"}), b)
                  for b in batch_bodies]
    ping_env = wsgi_environ("GET", "/ping", {})
    state = {"i": 0}

    def ping():
        assert call_wsgi(app, ping_env)[0] == "200 OK"

    def status():
        state["i"] = (state["i"] + 1) % len(status_envs)
        code, data = call_wsgi(app, status_envs[state["i"]])
        assert code == "200 OK", data

    def batch():
        state["i"] = (state["i"] + 1) % len(batch_envs)
        code, data = call_wsgi(app, batch_envs[state["i"]], batch_bodies[state["i"]])
        assert code == "200 OK", data[:200]

    c.rules = with_evaluation  # the answers carry a score with the evaluation, none without
    assert b'"grade":"' in call_wsgi(app, status_envs[0])[1]
    c.rules = without
    assert b'"grade":null' in call_wsgi(app, status_envs[0])[1]
    for fn in (ping, status, batch):
        for _ in range(30):
            fn()

    samples: dict[str, list[float]] = {k: [] for k in ("ping", "status_on", "status_off", "batch_on", "batch_off")}
    for round_ in range(args.rounds):
        order = [("on", with_evaluation), ("off", without)]
        if round_ % 2:
            order.reverse()
        samples["ping"].append(cpu_per_call(ping, args.seconds))
        for name, book in order:
            c.rules = book
            samples[f"status_{name}"].append(cpu_per_call(status, args.seconds))
            samples[f"batch_{name}"].append(cpu_per_call(batch, args.seconds) / BATCH)
    c.rules = with_evaluation
    med = {k: statistics.median(v) for k, v in samples.items()}
    # throughput ∝ 1 / CPU per request; "ratio to hello" as bench_status.py reports it
    ratio_on, ratio_off = med["ping"] / med["status_on"], med["ping"] / med["status_off"]
    loss = 1 - ratio_on / ratio_off
    batch_loss = 1 - med["batch_off"] / med["batch_on"]
    common.say(f"CPU µs per request, median of {args.rounds} rounds × {args.seconds:.1f} s, alternated:")
    common.say(f"  GET /ping                         {med['ping']:7.1f} µs")
    common.say(f"  GET …/status, evaluation off      {med['status_off']:7.1f} µs   (status/hello {ratio_off:.3f})")
    common.say(f"  GET …/status, evaluation on       {med['status_on']:7.1f} µs   (status/hello {ratio_on:.3f})")
    common.say(f"  batch per ID, off / on            {med['batch_off']:7.2f} / {med['batch_on']:.2f} µs "
               f"({1e6 / med['batch_off']:,.0f} / {1e6 / med['batch_on']:,.0f} IDs/s per core)")
    common.say(f"status throughput with the evaluation vs without: {-loss * 100:+.1f} % "
               f"(target: no worse than −{TARGET_LOSS * 100:.0f} %) {'MET' if loss <= TARGET_LOSS else 'MISSED'}; "
               f"batch {-batch_loss * 100:+.1f} %")
    common.write_result("evaluation", {"rounds": args.rounds, "seconds": args.seconds, "median_cpu_us": med,
                                       "samples_cpu_us": samples, "ratio_on": ratio_on, "ratio_off": ratio_off,
                                       "status_loss": loss, "batch_loss": batch_loss, "target_loss": TARGET_LOSS,
                                       "met": loss <= TARGET_LOSS})
    c.engine.dispose()


if __name__ == "__main__":
    main()
