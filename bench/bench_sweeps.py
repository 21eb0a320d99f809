#!/usr/bin/env python3
"""How long the daily sweeps take on a large backlog (the first run after an upgrade, or a runner
that was down for a long time).

    .venv/bin/python bench/bench_sweeps.py [--measures 100000] [--database-url URL]

Seeds a scratch PostgreSQL database (default credit_scratch; emptied and migrated first) with N
insured subjects, each with one violation and one 3-month settlement suspension whose start is spread
over 2025-01-01 .. 2026-10-31 (so nearly all are due to start and most to end), plus a complete,
approved repair for every tenth measure. Then times activate_measures and end_measures as of
2026-11-26, each once on the backlog and once more (nothing due: the cost of a quiet day).
"""
from __future__ import annotations

import argparse
import random
import sys
import time
import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

from sqlalchemy import create_engine, text  # noqa: E402

from credit_service.adapters.migrations import upgrade  # noqa: E402
from credit_service.adapters.orm import Base, MeasureRow, RepairRow, ViolationRow  # noqa: E402
from credit_service.adapters.records import bulk_insert  # noqa: E402
from credit_service.clock import SHANGHAI, FixedClock  # noqa: E402
from credit_service.container import build_container  # noqa: E402
from credit_service.domain.months import add_months  # noqa: E402
from credit_service.services import sweeps  # noqa: E402
from credit_service.settings import PROJECT_ROOT, Settings  # noqa: E402

AS_OF = date(2026, 11, 26)


def seed(url: str, n: int) -> None:
    engine = create_engine(url)
    with engine.begin() as c:
        for table in reversed(Base.metadata.sorted_tables):
            c.execute(text(f"DROP TABLE IF EXISTS {table.name} CASCADE"))
        c.execute(text("DROP TABLE IF EXISTS alembic_version"))
    engine.dispose()
    upgrade(url)
    engine = create_engine(url)
    from credit_service.adapters.pii import ring
    rng = random.Random(7)
    now = datetime(2026, 11, 1, tzinfo=SHANGHAI)
    violations, measures, repairs = [], [], []
    for i in range(n):
        key = ring().lookup_key("insured", common.subject_id(i))  # the tables hold lookup keys (adapters/pii.py)
        start = date(2025, 1, 1) + timedelta(days=rng.randrange(669))
        vid, mid = uuid.uuid4().hex, uuid.uuid4().hex
        violations.append({"id": vid, "source": "bench", "source_ref": f"B{i}", "body_hash": "x", "subject_type": "insured",
                           "lookup_key": key, "name": None, "region": "370100", "occurred_on": start,
                           "determined_on": start, "record_year": start.year, "fund_loss_fen": Decimal("50000.00"),
                           "handling": "administrative", "fraud": False, "points": None, "months_override": None,
                           "description": "", "rule_set": "shandong-2024-trial", "notes": "", "recorded_by": "bench",
                           "recorded_at": now, "intake_order": 0})
        measures.append({"id": mid, "violation_id": vid, "kind": "settlement_suspension", "subject_type": "insured",
                         "lookup_key": key, "region": "370100", "record_year": start.year, "starts_on": start,
                         "restores_on": add_months(start, 3), "months": 3, "rule_set": "shandong-2024-trial",
                         "article": "第九条第二项", "explanation": "bench", "past_expiry": False, "revoked_on": None,
                         "created_at": now})
        if i % 10 == 0:
            repairs.append({"id": uuid.uuid4().hex, "measure_id": mid, "subject_type": "insured", "lookup_key": key,
                            "region": "370100", "filed_on": start, "corrected": True, "adverse_effects_removed": True,
                            "commitment": True, "evidence": "[]", "reply_due_on": start + timedelta(days=21),
                            "reply_due_provisional": False, "state": "approved", "decided_on": start + timedelta(days=5),
                            "decision_reason": "bench", "filed_by": "bench", "decided_by": "bench", "created_at": now})
    with engine.begin() as c:
        bulk_insert(c, ViolationRow.__table__, violations)
        bulk_insert(c, MeasureRow.__table__, measures)
        bulk_insert(c, RepairRow.__table__, repairs)
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--measures", type=int, default=100_000)
    parser.add_argument("--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/credit_scratch")
    args = parser.parse_args()
    started = time.perf_counter()
    seed(args.database_url, args.measures)
    print(f"seeded {args.measures} measures in {time.perf_counter() - started:.1f} s")
    settings = Settings(database_url=args.database_url, secret_key="bench", config_dir=PROJECT_ROOT / "config",
                        scheduler="off", index_poll_seconds=0, warm_index=False)
    container = build_container(settings, FixedClock(AS_OF))
    w = container.workflow()
    for name, sweep in (("activate_measures", sweeps.activate_measures), ("end_measures", sweeps.end_measures)):
        for label in ("backlog", "quiet day"):
            t = time.perf_counter()
            summary = sweep(w, AS_OF)
            elapsed = time.perf_counter() - t
            print(f"{name:18s} {label:9s} {elapsed:7.2f} s  {summary}")
    container.engine.dispose()


if __name__ == "__main__":
    main()
