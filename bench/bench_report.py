#!/usr/bin/env python3
"""Monthly statistics over the seeded 1,000,000 violations on PostgreSQL (issue 14: a month's report in
under 10 s here).

    .venv/bin/python bench/bench_report.py [--runs 3]

Times, in one process and one run (median of --runs each):
  * the province's report of last month (every region, so every violation of two years is counted),
    as JSON and as XLSX, computed from the record (not frozen) through the same use case as the API;
  * one region's report (the 16 seeded county codes each hold about 1/16 of the rows);
  * the freezing sweep catching up from nothing: every complete month of this year and the last one,
    for the province and every region (what the 1st of the month does after a long downtime), and a
    second run that finds nothing due. The frozen reports are deleted again afterwards.
Uses only the benchmark database ($BENCH_DATABASE_URL, default credit_bench); seeds it if needed.
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

TARGET_SECONDS = 10.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=int(os.environ.get("BENCH_REPORT_RUNS", 3)))
    parser.add_argument("--no-seed", action="store_true")
    args = parser.parse_args()
    args.runs = max(1, min(args.runs, 5))
    if not args.no_seed:
        import seed
        seed.seed(common.PG_URL, 1_000_000, common.SEED_SUBJECTS, reseed=False)
    else:
        common.db_upgrade(common.PG_URL)

    from sqlalchemy import delete, func, select

    from credit_service.adapters.orm import MonthlyReportRow, ViolationRow
    from credit_service.container import build_container
    from credit_service.domain.reports import Month
    from credit_service.services.clients import Principal
    from credit_service.services.reports import freeze_due, monthly_report
    from credit_service.settings import Settings

    c = build_container(Settings.from_env(database_url=common.PG_URL, scheduler="off", index_poll_seconds=0))
    admin = Principal("bench", "bench-admin", "admin")
    today = c.clock.today()
    month = Month.of(today).previous()
    with c.session_factory() as s:
        violations = s.scalar(select(func.count()).select_from(ViolationRow))
        if s.scalar(select(func.count()).select_from(MonthlyReportRow)):
            raise SystemExit("monthly_reports is not empty in the benchmark database: not touching it")
    common.say(f"{violations:,} violations in {common.PG_URL.rsplit('/', 1)[-1]}; report month {month}")

    def timed(fn, runs=args.runs):
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            result = fn()
            times.append(time.perf_counter() - t0)
        return statistics.median(times), result

    figures = {}
    province_json, report = timed(lambda: monthly_report(c.uow(), admin, None, month, "json", rules=c.rules,
                                                         clock=c.clock))
    import json
    body = json.loads(report.content)
    total = next(x for x in body["lines"] if x["key"] == "violations.total")
    common.say(f"province report {month} (JSON): {province_json:.2f} s — {total['month']:,} violations that month, "
               f"{total['year_to_date']:,} this year, {total['prior_year_total']:,} last year")
    figures["province_json_seconds"] = round(province_json, 3)
    province_xlsx, _ = timed(lambda: monthly_report(c.uow(), admin, None, month, "xlsx", rules=c.rules, clock=c.clock))
    common.say(f"province report {month} (XLSX): {province_xlsx:.2f} s")
    figures["province_xlsx_seconds"] = round(province_xlsx, 3)
    region_json, _ = timed(lambda: monthly_report(c.uow(), admin, "370102", month, "json", rules=c.rules,
                                                  clock=c.clock))
    common.say(f"region 370102 report {month} (JSON): {region_json:.2f} s")
    figures["region_json_seconds"] = round(region_json, 3)

    try:
        t0 = time.perf_counter()
        summary = freeze_due(c.uow, c.rules, c.clock, today)
        catch_up = time.perf_counter() - t0
        with c.session_factory() as s:
            frozen = s.scalar(select(func.count()).select_from(MonthlyReportRow))
        t0 = time.perf_counter()
        again = freeze_due(c.uow, c.rules, c.clock, today)
        quiet = time.perf_counter() - t0
        common.say(f"freeze sweep catching up: {catch_up:.2f} s for {frozen} reports ({summary}); "
                   f"next run: {quiet:.2f} s ({again})")
        figures.update(freeze_catch_up_seconds=round(catch_up, 2), frozen_reports=frozen,
                       freeze_quiet_seconds=round(quiet, 3))
        served, _ = timed(lambda: monthly_report(c.uow(), admin, None, month, "xlsx", rules=c.rules, clock=c.clock))
        common.say(f"a frozen report fetched again: {served * 1000:.1f} ms")
        figures["frozen_fetch_seconds"] = round(served, 4)
    finally:
        with c.session_factory() as s:
            s.execute(delete(MonthlyReportRow))
            s.commit()
    met = province_json < TARGET_SECONDS
    common.say(f"a month's report with {violations:,} violations: {province_json:.2f} s "
               f"(target < {TARGET_SECONDS:.0f} s) {'MET' if met else 'MISSED'}")
    common.write_result("report", {"violations": violations, "month": str(month), "runs": args.runs, **figures,
                                   "target_seconds": TARGET_SECONDS, "met": met})
    c.engine.dispose()


if __name__ == "__main__":
    main()
