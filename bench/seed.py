#!/usr/bin/env python3
"""Seed the benchmark database with PostgreSQL COPY (psycopg, bypassing the service).

    .venv/bin/python bench/seed.py            # create db + migrate + seed if not already seeded
    .venv/bin/python bench/seed.py --reseed   # TRUNCATE violations, measures and seed again

Rows follow credit_service/adapters/orm.py exactly: ids are 32-char hex, money is integer fen in
fund_loss_fen, identity numbers carry a valid GB 11643 check digit, record_year = year of
determined_on. 1,000,000 violations over 500,000 distinct subjects (each subject has at least one);
100,000 insured subjects (every 5th) have an active settlement_suspension: starts_on in the last
60 days, restores_on 6 months later. Deterministic (random seed 42) apart from the dates, which are
relative to today.
"""
from __future__ import annotations

import argparse
import hashlib
import random
import subprocess
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

import psycopg  # noqa: E402

from credit_service.domain.months import add_months  # noqa: E402

SOURCE = "bench-seed"
RULE_SET = "shandong-2024-trial"
RULES_EXPIRE = date(2026, 8, 9)
NAMES = ("张三", "李四", "王五", "赵六", "孙七", "周八", "吴九", "郑十")
VIOLATION_COLUMNS = ("id", "source", "source_ref", "body_hash", "subject_type", "lookup_key", "name", "region",
                     "occurred_on", "determined_on", "record_year", "fund_loss_fen", "handling", "fraud",
                     "points", "months_override", "description", "rule_set", "notes", "recorded_by",
                     "recorded_at")
MEASURE_COLUMNS = ("id", "violation_id", "kind", "subject_type", "lookup_key", "region", "record_year",
                   "starts_on", "restores_on", "months", "rule_set", "article", "explanation", "past_expiry",
                   "revoked_on", "created_at")


def ensure_database(url: str) -> None:
    dbname = url.rsplit("/", 1)[-1].split("?")[0]
    exists = subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-tAc",
                             f"SELECT 1 FROM pg_database WHERE datname = '{dbname}'"],
                            capture_output=True, text=True, check=True).stdout.strip()
    if exists != "1":
        subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", dbname], check=True)
        common.say(f"created database {dbname}")


def schema_problems(url: str) -> list[str]:
    """Differences between the database and the ORM (credit_service/adapters/orm.py): columns, indexes,
    unique constraints. The initial migration may be edited in place while the project is young, so a
    database migrated earlier can be at 'head' and still differ."""
    from sqlalchemy import create_engine, inspect
    from credit_service.adapters.orm import Base
    engine = create_engine(url)
    problems = []
    try:
        insp = inspect(engine)
        existing = set(insp.get_table_names())
        for table in Base.metadata.sorted_tables:
            if table.name not in existing:
                problems.append(f"missing table {table.name}")
                continue
            cols = [c["name"] for c in insp.get_columns(table.name)]
            if sorted(cols) != sorted(c.name for c in table.columns):  # order: migrations append columns
                problems.append(f"{table.name} columns {cols}")
            have = {i["name"]: tuple(i["column_names"]) for i in insp.get_indexes(table.name)
                    if not i.get("duplicates_constraint")}  # PostgreSQL lists UNIQUE's index too
            want = {i.name: tuple(c.name for c in i.columns) for i in table.indexes}
            if have != want:
                problems.append(f"{table.name} indexes {have} != {want}")
            have_uq = {u["name"]: tuple(u["column_names"]) for u in insp.get_unique_constraints(table.name)}
            want_uq = {c.name: tuple(col.name for col in c.columns) for c in table.constraints
                       if c.__class__.__name__ == "UniqueConstraint" and c.name}
            if not set(want_uq.items()) <= set(have_uq.items()):
                problems.append(f"{table.name} unique constraints {have_uq} lack {want_uq}")
    finally:
        engine.dispose()
    return problems


def recreate_schema(url: str) -> None:
    """Drop every table of the benchmark database and migrate from scratch."""
    with psycopg.connect(common.libpq_url(url), autocommit=True) as conn:
        from credit_service.adapters.orm import Base
        names = [t.name for t in reversed(Base.metadata.sorted_tables)] + ["alembic_version"]
        conn.execute("DROP TABLE IF EXISTS " + ", ".join(names) + " CASCADE")
    common.db_upgrade(url)


def seeded_counts(conn, on: date) -> tuple[int, int, int]:
    with conn.cursor() as cur:
        violations = cur.execute("SELECT count(*) FROM violations WHERE source = %s", (SOURCE,)).fetchone()[0]
        subjects = cur.execute("SELECT count(*) FROM (SELECT DISTINCT subject_type, lookup_key FROM violations "
                               "WHERE source = %s) s", (SOURCE,)).fetchone()[0] if violations else 0
        active = cur.execute(
            "SELECT count(*) FROM measures m JOIN violations v ON v.id = m.violation_id "
            "WHERE v.source = %s AND m.kind = 'settlement_suspension' AND m.revoked_on IS NULL "
            "AND m.starts_on <= %s AND m.restores_on > %s", (SOURCE, on, on)).fetchone()[0]
    return violations, subjects, active


def _text(v) -> str:
    """One field in COPY text format (our values never contain tabs, newlines or backslashes)."""
    if v is None:
        return r"\N"
    if v is True:
        return "t"
    if v is False:
        return "f"
    return str(v) if not isinstance(v, (date, datetime)) else v.isoformat()


def generate(n_violations: int, n_subjects: int, today: date, chunk: int = 50_000):
    """Yield (violation_lines, measure_lines) chunks of COPY text."""
    rng = random.Random(42)
    recorded_at = datetime.now(common.SystemClock().now().tzinfo)
    ids = [common.subject_id(i) for i in range(n_subjects)]
    # The tables hold lookup keys, the numbers only sealed in `subjects` (credit_service/adapters/pii.py),
    # made with the keys the service will use (CREDIT_SERVICE_PII_* or var/pii-keys.json).
    from credit_service.adapters.pii import ring
    keyring = ring()
    keys = [keyring.lookup_key(common.subject_type_of(i), ids[i]) for i in range(n_subjects)]
    s_lines = ["\t".join((keys[i], common.subject_type_of(i), keyring.seal(common.subject_type_of(i), ids[i]), r"\N"))
               for i in range(n_subjects)]
    span = (today - date(2022, 1, 1)).days
    v_lines, m_lines = [], []
    for j in range(n_violations):
        i = j if j < n_subjects else rng.randrange(n_subjects)  # first pass: every subject once
        subject_type, number, key = common.subject_type_of(i), ids[i], keys[i]
        region = number[:4] + "00"
        suspended = j < n_subjects and common.is_restricted(i)
        if suspended:  # recent, 100k–200k yuan: 第九条第三项, 6 months from the determination date
            determined = today - timedelta(days=rng.randint(1, 60))
            fen = rng.randint(10_000_000, 19_999_999)
        else:
            determined = date(2022, 1, 1) + timedelta(days=rng.randrange(span))
            fen = rng.randint(1, 9_999_999)
        occurred = determined - timedelta(days=rng.randint(0, 200))
        violation_id = f"{rng.getrandbits(128):032x}"
        ref = f"SEED-{j:07d}"
        v_lines.append("\t".join(map(_text, (
            violation_id, SOURCE, ref, hashlib.sha256(ref.encode()).hexdigest(), subject_type, key,
            NAMES[j % len(NAMES)], region, occurred, determined, determined.year, fen, "administrative",
            False, None, None, "虚构医疗服务（基准数据）", RULE_SET, "", "bench-seed", recorded_at))))
        if suspended:
            restores = add_months(determined, 6)
            m_lines.append("\t".join(map(_text, (
                f"{rng.getrandbits(128):032x}", violation_id, "settlement_suspension", subject_type, key,
                region, determined.year, determined, restores, 6, RULE_SET, "第九条第三项",
                f"基准数据：暂停联网结算6个月，自{determined.isoformat()}起至{restores.isoformat()}恢复。",
                determined > RULES_EXPIRE, None, recorded_at))))
        if len(v_lines) >= chunk:
            yield v_lines, m_lines, s_lines
            v_lines, m_lines, s_lines = [], [], []
    if v_lines or m_lines or s_lines:
        yield v_lines, m_lines, s_lines


def seed(url: str, n_violations: int, n_subjects: int, reseed: bool) -> dict:
    if url.rsplit("/", 1)[-1].split("?")[0] == "test":
        raise SystemExit("refusing to touch the database 'test'")
    ensure_database(url)
    common.db_upgrade(url)
    if problems := schema_problems(url):
        common.say("schema differs from the ORM (" + "; ".join(problems) + "): dropping and migrating afresh")
        recreate_schema(url)
        if problems := schema_problems(url):
            raise SystemExit(f"schema still differs after a fresh migration: {problems}")
    on = common.today()
    expected_active = len([i for i in range(n_subjects) if common.is_restricted(i)])
    with psycopg.connect(common.libpq_url(url)) as conn:
        counts = seeded_counts(conn, on)
        if counts == (n_violations, n_subjects, expected_active) and not reseed:
            common.say(f"already seeded: {counts[0]:,} violations, {counts[1]:,} subjects, "
                       f"{counts[2]:,} active suspensions (use --reseed to start over)")
            return {"skipped": True, "violations": counts[0], "subjects": counts[1], "active_measures": counts[2]}
        common.say(f"seeding (found {counts}; want {(n_violations, n_subjects, expected_active)}) …")
        started = time.perf_counter()
        with conn.cursor() as cur:
            cur.execute("TRUNCATE measures, violations, subjects CASCADE")  # and what hangs off measures (notices …)
            with cur.copy(f"COPY violations ({', '.join(VIOLATION_COLUMNS)}) FROM STDIN") as copy_v:
                pending_measures, pending_subjects = [], []
                for k, (v_lines, m_lines, s_lines) in enumerate(generate(n_violations, n_subjects, on)):
                    copy_v.write(("\n".join(v_lines) + "\n").encode())
                    pending_measures += m_lines
                    pending_subjects += s_lines
                    if k % 4 == 3:
                        common.say(f"  … {(k + 1) * 50_000:,} violations written")
            with cur.copy("COPY subjects (lookup_key, subject_type, id_sealed, retired_at) FROM STDIN") as copy_s:
                for k in range(0, len(pending_subjects), 50_000):
                    copy_s.write(("\n".join(pending_subjects[k:k + 50_000]) + "\n").encode())
            with cur.copy(f"COPY measures ({', '.join(MEASURE_COLUMNS)}) FROM STDIN") as copy_m:
                for k in range(0, len(pending_measures), 50_000):
                    copy_m.write(("\n".join(pending_measures[k:k + 50_000]) + "\n").encode())
        conn.commit()
        copied = time.perf_counter() - started
        conn.autocommit = True
        conn.execute("ANALYZE violations")
        conn.execute("ANALYZE measures")
        counts = seeded_counts(conn, on)
    common.say(f"seeded {counts[0]:,} violations, {counts[1]:,} subjects, {counts[2]:,} active suspensions "
               f"in {copied:.1f} s (COPY) + ANALYZE")
    if counts != (n_violations, n_subjects, expected_active):
        raise SystemExit(f"seed check failed: {counts}")
    return {"skipped": False, "seconds": round(copied, 1), "violations": counts[0], "subjects": counts[1],
            "active_measures": counts[2]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reseed", action="store_true", help="truncate violations and measures, seed again")
    parser.add_argument("--violations", type=int, default=1_000_000)
    parser.add_argument("--subjects", type=int, default=500_000)
    args = parser.parse_args()
    if args.subjects > args.violations:
        raise SystemExit("--subjects must not exceed --violations")
    result = seed(common.PG_URL, args.violations, args.subjects, args.reseed)
    common.write_result("seed", result)


if __name__ == "__main__":
    main()
