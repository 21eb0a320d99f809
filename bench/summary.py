#!/usr/bin/env python3
"""Print the summary table of one benchmark run from bench/results/<run id>-*.json.

    .venv/bin/python bench/summary.py [RUN_ID]     # default: $BENCH_RUN_ID, else the latest-*.json files
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402


def load(rid: str | None, name: str) -> dict | None:
    path = common.RESULTS / (f"{rid}-{name}.json" if rid else f"latest-{name}.json")
    return json.loads(path.read_text()) if path.exists() else None


def verdict(ok: bool | None, failed: bool = False) -> str:
    if failed:
        return "FAILED (errors)"
    return "" if ok is None else ("MET" if ok else "MISSED")


def main() -> None:
    rid = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("BENCH_RUN_ID")
    status, batch, inproc, imp, report = (load(rid, n) for n in ("status", "batch", "inprocess", "import", "report"))
    rows: list[tuple[str, str, str, str]] = []

    def add(label, value, target="", ok=None, failed=False):
        rows.append((label, value, target, verdict(ok, failed)))

    code = next((d["code"] for d in (status, batch, inproc, imp) if d and "code" in d), {})
    if status:
        add("hello-world GET /ping (wrk -t1 -c%d, 2 %s workers)" % (status["connections"],
                                                                      status.get("server", "gunicorn sync")),
            f"{status['hello_rps']:,.0f} req/s")
        add("status GET /subjects/insured/{id}/status (10k-ID mix)", f"{status['status_rps']:,.0f} req/s")
        add("ratio status / hello", f"{status['ratio']:.3f}", "≥ 0.9", status["met"], status.get("failed", False))
        add("  ratio vs /ping through the same Lua client", f"{status['ratio_same_client']:.3f}")
        cpu = status.get("cpu", {})
        if cpu.get("status", {}).get("server_us_per_request"):
            add("  server CPU per request hello / status",
                f"{cpu['hello']['server_us_per_request']:.0f} / {cpu['status']['server_us_per_request']:.0f} µs")
            add("  other processes' CPU during status runs", f"{cpu['status']['other_cores']:.2f} cores")
        rebuilds = status.get("index_rebuilds_logged") or []
        if rebuilds:
            add("status index load per worker (log)", ", ".join(f"{r['seconds']:.2f} s" for r in rebuilds[:2])
                + f" ({rebuilds[0]['subjects']:,} subjects)")
        if status.get("warmup"):
            add("  first status request per worker", ", ".join(f"{s:.2f} s" for s in status["warmup"]["first_request_seconds"]))
        rss = status["worker_rss_mib"]
        add("worker RSS before → after index load", " / ".join(
            f"{b:.0f} → {a:.0f} MiB" for b, a in zip(rss["before_index"].values(), rss["after_index"].values()))
            or ", ".join(f"{v:.0f} MiB" for v in rss["after_index"].values()))
    if batch:
        add("batch POST /status/batch, 1000 IDs (wrk -c%d)" % batch["connections"],
            f"{batch['requests_per_second']:,.1f} req/s = {batch['ids_per_second']:,} IDs/s")
        add("  batch IDs/s per core (÷ %d cores)" % batch["cores"], f"{batch['ids_per_second_per_core']:,}",
            "≥ 100,000", batch["met"], batch.get("failed", False))
    if inproc:
        f = inproc["figures"]
        add("in-process batch IDs/s (1 process = 1 core)", f"{inproc['batch_ids_per_second_per_core']:,}",
            "≥ 100,000", inproc["met"])
        add("  in-process ping / status req/s", f"{f['ping']['per_second']:,.0f} / {f['status']['per_second']:,.0f} "
            f"(ratio {inproc['status_hello_ratio']:.3f})")
        add("  domain-only ceiling (status_on+status_json)", f"{f['domain_only']['items_per_second']:,} IDs/s")
        idx = inproc["index"]
        add("  in-process index load / memory", f"{idx['load_seconds']:.2f} s / +{idx['index_mib']:.0f} MiB "
            f"({idx['subjects']:,} subjects)")
    if imp:
        for backend in ("postgresql", "sqlite"):
            r = imp.get(backend)
            if not r:
                continue
            add(f"{backend}: import {r['rows']:,} rows (median of {r['repeats']})", f"{r['import_rows_per_s']:,} rows/s")
            add(f"{backend}: raw executemany, same rows", f"{r['raw_rows_per_s']:,} rows/s")
            if "ratio_all_tables" in r:  # issue 13: raw inserts of every row the import writes, four tables
                add(f"{backend}: every row written {r['rows_written_by_table']}", f"import {r['import_all_rows_per_s']:,} "
                    f"vs raw {r['raw_all_rows_per_s']:,} rows/s")
                add(f"{backend}: ratio import / raw, all four tables", f"{r['ratio_all_tables']:.3f}", "≥ 0.3", r["met"])
                add(f"  {backend}: ratio vs violations only (the old figure)", f"{r['ratio']:.3f}")
            else:
                add(f"{backend}: ratio import / raw", f"{r['ratio']:.3f}", "≥ 0.3", r["met"])
            add(f"  {backend}: vs raw incl. measure rows", f"{r['raw_with_measures_rows_per_s']:,} rows/s → "
                f"{r['ratio_vs_raw_with_measures']:.3f}")
    if report:
        add(f"monthly report, province, {report['violations']:,} violations (JSON, median of {report['runs']})",
            f"{report['province_json_seconds']:.2f} s", "< 10 s", report["met"])
        add("  same as XLSX / one region (JSON)", f"{report['province_xlsx_seconds']:.2f} s / "
            f"{report['region_json_seconds']:.2f} s")
        if "freeze_catch_up_seconds" in report:
            add(f"  freeze sweep catching up ({report['frozen_reports']} reports) / quiet day",
                f"{report['freeze_catch_up_seconds']:.2f} s / {report['freeze_quiet_seconds']:.2f} s")

    if not rows:
        print(f"no results for run {rid or 'latest'} in {common.RESULTS}")
        return
    header = ("figure", "value", "target", "verdict")
    w = [max(len(r[i]) for r in rows + [header]) for i in range(4)]
    title = f"credit-service benchmarks — run {rid or 'latest'} — commit {code.get('commit', '?')}" + (
        f" (+ uncommitted app changes: {len(code['app_files_modified'])} files)" if code.get("app_files_modified") else "")
    print()
    print(title)
    line = "+-" + "-+-".join("-" * x for x in w) + "-+"
    print(line)
    print("| " + " | ".join(h.ljust(x) for h, x in zip(header, w)) + " |")
    print(line)
    for r in rows:
        print("| " + " | ".join(c.ljust(x) for c, x in zip(r, w)) + " |")
    print(line)
    out = common.RESULTS / f"{rid or 'latest'}-summary.json"
    out.write_text(json.dumps({"run_id": rid, "code": code, "rows": [dict(zip(("figure", "value", "target", "verdict"), r))
                                                                      for r in rows]}, indent=2, ensure_ascii=False))
    print(f"results: {common.RESULTS}/{rid or 'latest'}-*.json")


if __name__ == "__main__":
    main()
