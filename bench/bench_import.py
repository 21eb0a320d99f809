#!/usr/bin/env python3
"""Bulk import vs raw executemany of the same rows, on PostgreSQL and (optionally) SQLite.

    .venv/bin/python bench/bench_import.py [--rows 10000 --repeats 3] [--no-sqlite] [--no-postgres]

Per repetition: 10,000 fresh violation bodies (shaped like tests/factories.py `violation()`: insured,
fund_loss "150000.00", administrative, determined 2025-04-10, each a new subject in region 370902 and a
new source_ref) are POSTed as one JSON array to /api/v1/violations/import with `requests` (admin token),
timed end-to-end (serialising the body, HTTP, validation, decisions, the write, the index refresh, the
response). Every row must come back "created" (each causes one settlement_suspension measure).

Baseline: the SAME violations rows — the values the service wrote, ids included, read back from its
response and recomputed exactly as services/intake.py builds them — inserted with the driver's
executemany into a scratch copy of `violations` (same columns, indexes and constraints; a regular logged
table, not TEMP, so WAL is paid as in the real table), then committed. Timed: executemany + commit only.
Also reported for context: the same plus the measure rows into a scratch copy of `measures`
("raw_with_measures"), since the import writes both.

ratio = import rows/s ÷ raw rows/s (target ≥ 0.3); median of --repeats runs.
PostgreSQL: the server and database of the other benchmarks (credit_bench, 1M rows already there); the
rows imported here are deleted afterwards so the seed stays as it was. SQLite: a temporary database
file, migrated, served by a second server (2 workers) on another port; baseline with sqlite3
executemany under the service's own pragmas (WAL, synchronous=NORMAL).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

import psycopg  # noqa: E402
import requests  # noqa: E402

from credit_service.clock import SHANGHAI  # noqa: E402
from credit_service.domain.violations import ViolationInput  # noqa: E402

TARGET_RATIO = 0.3
SOURCE = "bench-import"
V_COLUMNS = ("id", "source", "source_ref", "body_hash", "subject_type", "lookup_key", "name", "region",
             "occurred_on", "determined_on", "record_year", "fund_loss_fen", "handling", "fraud", "points",
             "months_override", "description", "rule_set", "notes", "recorded_by", "recorded_at")
M_COLUMNS = ("id", "violation_id", "kind", "subject_type", "lookup_key", "region", "record_year", "starts_on",
             "restores_on", "months", "rule_set", "article", "explanation", "past_expiry", "revoked_on",
             "created_at")


def make_bodies(n: int, tag: str, rng: random.Random) -> list[dict]:
    numbers: set[str] = set()
    while len(numbers) < n:
        numbers.add(common.import_id(rng))
    return [{
        "source": SOURCE, "source_ref": f"BI-{tag}-{k:05d}",
        "subject": {"subject_type": "insured", "id_number": number, "name": "张三"},
        "region": "370900", "occurred_on": "2025-03-02", "determined_on": "2025-04-10",
        "fund_loss": "150000.00", "handling": "administrative", "fraud": False, "points": None,
        "description": "虚构医疗服务",
    } for k, number in enumerate(sorted(numbers))]


def explanations_of(database_url: str, response: dict) -> dict[str, str]:
    """The import answer lists measures without their explanation text: read it back (untimed)."""
    from sqlalchemy import bindparam, create_engine, text
    ids = [m["id"] for r in response["results"] for m in r.get("measures", [])]
    engine = create_engine(database_url)
    found: dict[str, str] = {}
    with engine.connect() as connection:
        for i in range(0, len(ids), 900):
            query = text("SELECT id, explanation FROM measures WHERE id IN :ids").bindparams(
                bindparam("ids", expanding=True))
            found.update(dict(connection.execute(query, {"ids": ids[i:i + 900]}).all()))
    engine.dispose()
    return found


def rows_written(bodies: list[dict], response: dict, actor: str, recorded_at: datetime,
                 explanations: dict[str, str]):
    """The violations / measures rows the service wrote, rebuilt from the bodies and its response."""
    from credit_service.adapters.pii import ring
    keyring = ring()  # the tables hold lookup keys, not numbers (adapters/pii.py)
    v_rows, m_rows = [], []
    for body, result in zip(bodies, response["results"]):
        assert result["status"] == "created", result
        v = ViolationInput(
            source=body["source"], source_ref=body["source_ref"], subject_type=body["subject"]["subject_type"],
            id_number=body["subject"]["id_number"], name=body["subject"]["name"], region=body["region"],
            occurred_on=date.fromisoformat(body["occurred_on"]), determined_on=date.fromisoformat(body["determined_on"]),
            fund_loss=Decimal(body["fund_loss"]), handling=body["handling"], fraud=body["fraud"],
            points=body["points"], description=body["description"], months_override=None)
        rule_set = result["measures"][0]["rule_set"] if result["measures"] else None
        key = keyring.lookup_key(v.subject_type, v.id_number)
        v_rows.append((result["violation_id"], v.source, v.source_ref, v.body_hash(), v.subject_type, key,
                       v.name, v.region, v.occurred_on, v.determined_on, v.record_year, int(v.fund_loss * 100),
                       v.handling, v.fraud, v.points, v.months_override, v.description, rule_set, "", actor,
                       recorded_at))
        for m in result["measures"]:
            m_rows.append((m["id"], result["violation_id"], m["kind"], v.subject_type, key, v.region,
                           v.record_year, date.fromisoformat(m["starts_on"]),
                           date.fromisoformat(m["restores_on"]) if m["restores_on"] else None, m["months"],
                           m["rule_set"], m["article"], explanations[m["id"]], m["past_expiry"], None, recorded_at))
    return v_rows, m_rows


# The other two tables an import writes (issue 13: the target compares with raw inserts of *all* its rows).
EXTRA_TABLES = (("audit_events", "seq"), ("subject_changes", "seq"))


def heads(database_url: str) -> dict[str, int]:
    """max(seq) of the audit trail and the change feed before an import."""
    return {t: _scalar(database_url, f"SELECT coalesce(max({c}), 0) FROM {t}") for t, c in EXTRA_TABLES}


def _scalar(database_url: str, sql: str):
    if database_url.startswith("sqlite"):
        with sqlite3.connect(database_url.split("///", 1)[1]) as conn:
            return conn.execute(sql).fetchone()[0]
    with psycopg.connect(common.libpq_url(database_url)) as conn:
        return conn.execute(sql).fetchone()[0]


def extra_rows(database_url: str, before: dict[str, int]) -> list[tuple[str, list[str], list[tuple]]]:
    """The audit events and feed entries the import wrote (all columns, as stored): nobody else writes
    the benchmark's database meanwhile."""
    out = []
    for table, column in EXTRA_TABLES:
        sql = f"SELECT * FROM {table} WHERE {column} > {int(before[table])} ORDER BY {column}"
        if database_url.startswith("sqlite"):
            with sqlite3.connect(database_url.split("///", 1)[1]) as conn:
                cur = conn.execute(sql)
                out.append((table, [d[0] for d in cur.description], cur.fetchall()))
        else:
            with psycopg.connect(common.libpq_url(database_url)) as conn:
                cur = conn.execute(sql)
                out.append((table, [d.name for d in cur.description], cur.fetchall()))
    return out


def post_import(base_url: str, token: str, bodies: list[dict]) -> tuple[float, dict]:
    started = time.perf_counter()
    r = requests.post(base_url + "/api/v1/violations/import", json=bodies, timeout=300,
                      headers={"Authorization": f"Bearer {token}"})
    data = r.json()
    seconds = time.perf_counter() - started
    if r.status_code != 200 or data["summary"]["created"] != len(bodies):
        raise SystemExit(f"import failed: {r.status_code} {json.dumps(data, ensure_ascii=False)[:500]}")
    return seconds, data


# ---------------------------------------------------------------- PostgreSQL
def pg_raw(url: str, v_rows, m_rows, extra=()) -> tuple[float, float, float]:
    """(seconds violations-only, violations+measures, all four tables), executemany + commit each."""
    ph_v = ", ".join(["%s"] * len(V_COLUMNS))
    ph_m = ", ".join(["%s"] * len(M_COLUMNS))
    scratch_extra = [f"bench_scratch_{t}" for t, _, _ in extra]
    with psycopg.connect(common.libpq_url(url)) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_scratch_measures, bench_scratch_violations")
        conn.execute("CREATE TABLE bench_scratch_violations (LIKE violations INCLUDING ALL)")
        conn.execute("CREATE TABLE bench_scratch_measures (LIKE measures INCLUDING ALL)")
        for (table, _, _), scratch in zip(extra, scratch_extra):
            conn.execute(f"DROP TABLE IF EXISTS {scratch}")
            conn.execute(f"CREATE TABLE {scratch} (LIKE {table} INCLUDING ALL)")
        conn.commit()
        try:
            with conn.cursor() as cur:  # untimed pass: table/index files grown, statement path warm
                cur.executemany(f"INSERT INTO bench_scratch_violations ({', '.join(V_COLUMNS)}) VALUES ({ph_v})", v_rows)
            conn.commit()
            conn.execute("TRUNCATE bench_scratch_violations")
            conn.commit()
            started = time.perf_counter()
            with conn.cursor() as cur:
                cur.executemany(f"INSERT INTO bench_scratch_violations ({', '.join(V_COLUMNS)}) VALUES ({ph_v})", v_rows)
            conn.commit()
            only_v = time.perf_counter() - started
            conn.execute("TRUNCATE bench_scratch_violations")
            conn.commit()
            started = time.perf_counter()
            with conn.cursor() as cur:
                cur.executemany(f"INSERT INTO bench_scratch_violations ({', '.join(V_COLUMNS)}) VALUES ({ph_v})", v_rows)
                cur.executemany(f"INSERT INTO bench_scratch_measures ({', '.join(M_COLUMNS)}) VALUES ({ph_m})", m_rows)
            conn.commit()
            with_m = time.perf_counter() - started
            conn.execute("TRUNCATE bench_scratch_measures, bench_scratch_violations")
            conn.commit()
            started = time.perf_counter()
            with conn.cursor() as cur:
                cur.executemany(f"INSERT INTO bench_scratch_violations ({', '.join(V_COLUMNS)}) VALUES ({ph_v})", v_rows)
                cur.executemany(f"INSERT INTO bench_scratch_measures ({', '.join(M_COLUMNS)}) VALUES ({ph_m})", m_rows)
                for (_, columns, rows), scratch in zip(extra, scratch_extra):
                    cur.executemany(f"INSERT INTO {scratch} ({', '.join(columns)}) "
                                    f"VALUES ({', '.join(['%s'] * len(columns))})", rows)
            conn.commit()
            all_four = time.perf_counter() - started
        finally:
            conn.rollback()
            conn.execute("DROP TABLE IF EXISTS bench_scratch_measures, bench_scratch_violations")
            for scratch in scratch_extra:
                conn.execute(f"DROP TABLE IF EXISTS {scratch}")
            conn.commit()
    return only_v, with_m, all_four


def pg_cleanup(url: str) -> int:
    with psycopg.connect(common.libpq_url(url)) as conn:
        conn.execute("DELETE FROM measures WHERE violation_id IN (SELECT id FROM violations WHERE source = %s)", (SOURCE,))
        deleted = conn.execute("DELETE FROM violations WHERE source = %s", (SOURCE,)).rowcount
        conn.commit()
    return deleted


# ---------------------------------------------------------------- SQLite
def sqlite_raw(path: str, v_rows, m_rows, extra=()) -> tuple[float, float, float]:
    conn = sqlite3.connect(path, isolation_level=None, timeout=30)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        for table, scratch in (("violations", "bench_scratch_violations"), ("measures", "bench_scratch_measures"),
                               *((t, f"bench_scratch_{t}") for t, _, _ in extra)):
            conn.execute(f"DROP TABLE IF EXISTS {scratch}")
            ddl = conn.execute("SELECT sql FROM sqlite_master WHERE type='table' AND name=?", (table,)).fetchone()[0]
            ddl = ddl.replace(f"CREATE TABLE {table}", f"CREATE TABLE {scratch}", 1)
            ddl = ddl.replace("REFERENCES violations", "REFERENCES bench_scratch_violations")
            conn.execute(ddl)
            for (index_sql,) in conn.execute("SELECT sql FROM sqlite_master WHERE type='index' AND tbl_name=? "
                                             "AND sql IS NOT NULL", (table,)).fetchall():
                index_sql = index_sql.replace(f" ON {table} ", f" ON {scratch} ")
                index_sql = index_sql.replace("INDEX ", "INDEX bench_scratch_", 1)
                conn.execute(index_sql)
        # SQLAlchemy's SQLite dialect stores dates as 'YYYY-MM-DD', datetimes as 'YYYY-MM-DD HH:MM:SS.ffffff'
        def sql_value(v):
            if isinstance(v, datetime):
                return v.strftime("%Y-%m-%d %H:%M:%S.%f")
            if isinstance(v, date):
                return v.isoformat()
            return v
        v_rows = [tuple(map(sql_value, r)) for r in v_rows]
        m_rows = [tuple(map(sql_value, r)) for r in m_rows]
        ins_v = (f"INSERT INTO bench_scratch_violations ({', '.join(V_COLUMNS)}) "
                 f"VALUES ({', '.join('?' * len(V_COLUMNS))})")
        ins_m = (f"INSERT INTO bench_scratch_measures ({', '.join(M_COLUMNS)}) "
                 f"VALUES ({', '.join('?' * len(M_COLUMNS))})")
        conn.execute("BEGIN IMMEDIATE")  # untimed pass: file grown, statement cache warm
        conn.executemany(ins_v, v_rows)
        conn.execute("COMMIT")
        conn.execute("DELETE FROM bench_scratch_violations")
        started = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(ins_v, v_rows)
        conn.execute("COMMIT")
        only_v = time.perf_counter() - started
        conn.execute("DELETE FROM bench_scratch_violations")
        started = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(ins_v, v_rows)
        conn.executemany(ins_m, m_rows)
        conn.execute("COMMIT")
        with_m = time.perf_counter() - started
        conn.execute("DELETE FROM bench_scratch_measures")
        conn.execute("DELETE FROM bench_scratch_violations")
        started = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(ins_v, v_rows)
        conn.executemany(ins_m, m_rows)
        for table, columns, rows in extra:
            conn.executemany(f"INSERT INTO bench_scratch_{table} ({', '.join(columns)}) "
                             f"VALUES ({', '.join('?' * len(columns))})", rows)
        conn.execute("COMMIT")
        all_four = time.perf_counter() - started
        for table, _, _ in extra:
            conn.execute(f"DROP TABLE bench_scratch_{table}")
        conn.execute("DROP TABLE bench_scratch_measures")
        conn.execute("DROP TABLE bench_scratch_violations")
    finally:
        conn.close()
    return only_v, with_m, all_four


# ---------------------------------------------------------------- the benchmark
def run_backend(label: str, target: common.Target, database_url: str, raw, n_rows: int, repeats: int,
                rng: random.Random) -> dict:
    actor, token = common.create_token("admin", database_url)
    sample = common.status_path(common.import_id(random.Random(1)), common.today())
    settlement = os.environ.get("BENCH_SETTLEMENT_TOKEN") if "postgresql" in database_url else None
    settlement = settlement or common.create_token("settlement", database_url)[1]
    warm = common.ensure_warm(target, settlement, sample)  # so that the import's index refresh runs as in production
    if warm:
        common.say(f"[{label}] warmed the status index: " + ", ".join(
            f"{r['subjects']:,} subjects in {r['seconds']:.2f} s" for r in warm["rebuilds"]))
    runs = []
    for k in range(repeats):
        tag = f"{datetime.now():%H%M%S}-{uuid.uuid4().hex[:6]}"
        bodies = make_bodies(n_rows, tag, rng)
        recorded_at = datetime.now(SHANGHAI)
        before = heads(database_url)
        import_s, response = post_import(target.base_url, token, bodies)
        v_rows, m_rows = rows_written(bodies, response, actor, recorded_at,
                                      explanations_of(database_url, response))
        extra = extra_rows(database_url, before)
        raw_v, raw_vm, raw_all = raw(v_rows, m_rows, extra)
        written = len(v_rows) + len(m_rows) + sum(len(rows) for _, _, rows in extra)
        run = {"rows": len(bodies), "measures": len(m_rows), "import_s": round(import_s, 3), "raw_s": round(raw_v, 3),
               "raw_with_measures_s": round(raw_vm, 3), "import_rows_per_s": round(len(bodies) / import_s),
               "raw_rows_per_s": round(len(v_rows) / raw_v), "raw_with_measures_rows_per_s": round(len(v_rows) / raw_vm)}
        run["ratio"] = round(run["import_rows_per_s"] / run["raw_rows_per_s"], 4)
        run["ratio_vs_raw_with_measures"] = round(run["import_rows_per_s"] / run["raw_with_measures_rows_per_s"], 4)
        # issue 13's restated target: the same seconds for every row the import wrote, in all four tables
        run.update({"rows_written": written, "rows_written_by_table": {
            "violations": len(v_rows), "measures": len(m_rows), **{t: len(r) for t, _, r in extra}},
            "raw_all_tables_s": round(raw_all, 3), "import_all_rows_per_s": round(written / import_s),
            "raw_all_rows_per_s": round(written / raw_all), "ratio_all_tables": round(raw_all / import_s, 4)})
        runs.append(run)
        common.say(f"[{label}] run {k + 1}: import {run['import_rows_per_s']:7,} rows/s ({import_s:.2f} s) | raw executemany "
                   f"{run['raw_rows_per_s']:7,} rows/s ({raw_v:.2f} s) | ratio {run['ratio']:.3f} | raw incl. measures "
                   f"{run['raw_with_measures_rows_per_s']:,} rows/s | all {written:,} rows written: import "
                   f"{run['import_all_rows_per_s']:,} vs raw {run['raw_all_rows_per_s']:,} rows/s → "
                   f"{run['ratio_all_tables']:.3f}")

    def median(key):
        return statistics.median(r[key] for r in runs)
    result = {"rows": n_rows, "repeats": repeats, "runs": runs, "import_rows_per_s": median("import_rows_per_s"),
              "raw_rows_per_s": median("raw_rows_per_s"), "raw_with_measures_rows_per_s": median("raw_with_measures_rows_per_s"),
              "ratio": median("ratio"), "ratio_vs_raw_with_measures": median("ratio_vs_raw_with_measures"),
              "target_ratio": TARGET_RATIO, "ratio_all_tables": median("ratio_all_tables"),
              "import_all_rows_per_s": median("import_all_rows_per_s"), "raw_all_rows_per_s": median("raw_all_rows_per_s"),
              "rows_written_by_table": runs[-1]["rows_written_by_table"]}
    result["met"] = result["ratio_all_tables"] >= TARGET_RATIO  # the restated target (issue 13)
    common.say(f"[{label}] median of {repeats}: import {result['import_rows_per_s']:,} rows/s vs raw {result['raw_rows_per_s']:,} "
               f"rows/s → ratio {result['ratio']:.3f}; vs raw incl. measures {result['ratio_vs_raw_with_measures']:.3f}")
    common.say(f"[{label}] restated target (issue 13), every row written {result['rows_written_by_table']}: import "
               f"{result['import_all_rows_per_s']:,} rows/s vs raw inserts of the same rows {result['raw_all_rows_per_s']:,} "
               f"rows/s → ratio {result['ratio_all_tables']:.3f} (target ≥ {TARGET_RATIO}) "
               f"{'MET' if result['met'] else 'MISSED'}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    common.add_server_args(parser)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-seed", action="store_true")
    args = parser.parse_args()
    args.rows, args.repeats = min(args.rows, 10_000), min(args.repeats, 7)
    common.install_cleanup()
    common.say(common.RATE_LIMIT_NOTE)
    rng = random.Random()
    result: dict = {}

    if not args.no_postgres:
        if not args.no_seed and not args.base_url:
            import seed
            seed.seed(common.PG_URL, 1_000_000, common.SEED_SUBJECTS, reseed=False)
        target = common.open_target(args, common.PG_URL)
        try:
            result["postgresql"] = run_backend("postgresql", target, common.PG_URL,
                                               lambda v, m, e: pg_raw(common.PG_URL, v, m, e), args.rows, args.repeats, rng)
        finally:
            target.close()
            deleted = pg_cleanup(common.PG_URL)
            common.say(f"[postgresql] removed the {deleted:,} imported violations (and their measures)")

    if not args.no_sqlite:
        tmp = tempfile.mkdtemp(prefix="credit-bench-sqlite-")
        path = os.path.join(tmp, "bench.sqlite3")
        url = f"sqlite:///{path}"
        try:
            common.db_upgrade(url)
            server = common.Server(url, workers=args.workers,
                                   log_path=common.RESULTS / f"{common.run_id()}-{common.DEFAULT_SERVER}-sqlite.log").start()
            common.say(f"[sqlite] {server.kind}, {args.workers} workers, on {server.base_url}, database {path}")
            target = common.Target(server.base_url, server.log_path, server.pid, args.workers, server)
            try:
                result["sqlite"] = run_backend("sqlite", target, url, lambda v, m, e: sqlite_raw(path, v, m, e),
                                               args.rows, args.repeats, rng)
            finally:
                target.close()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    common.write_result("import", result)


if __name__ == "__main__":
    main()
