"""An import's per-subject reads probe indexes rather than scan whole tables (issue 13, item 9).

For `lookup_key = ANY(10,000 keys)` PostgreSQL's default costs chose a parallel sequential scan of
`violations`, `measures` and `subjects`: seconds per import at a million rows, growing with the tables
rather than the file. The import's transaction turns sequential scans off for itself
(records.index_probes) before its look-ups."""
from __future__ import annotations

import pytest
from sqlalchemy import event, text

from credit_service.adapters.records import PROBE_THRESHOLD, index_probes
from tests.factories import id_number, stored_key, violation

LOOKUPS = ("FROM violations", "FROM measures", "FROM subjects")


@pytest.fixture
def postgresql_only(settings):
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("a PostgreSQL planner setting")


def test_every_lookup_of_a_large_import_runs_with_index_probes(postgresql_only, client, auth, container):
    statements: list[str] = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        statements.append(" ".join(statement.split()))
    event.listen(container.engine, "before_cursor_execute", seen)
    try:
        rows = [violation() for _ in range(PROBE_THRESHOLD + 10)]
        response = client.post("/api/v1/violations/import", json=rows, headers=auth())
    finally:
        event.remove(container.engine, "before_cursor_execute", seen)
    assert response.json["summary"]["created"] == len(rows)
    probes_on = [i for i, s in enumerate(statements) if "set_config('enable_seqscan', 'off', true)" in s]
    lookups = [i for i, s in enumerate(statements)
               if s.startswith("SELECT") and "= ANY" in s and any(t in s for t in LOOKUPS)]
    assert len(lookups) >= 4  # earlier rows by source_ref, the ledgers' violations and measures, subjects
    assert len(probes_on) == 1 and probes_on[0] < min(lookups)  # once, before the first


def test_with_index_probes_the_planner_reads_the_keys_rows_not_the_table(postgresql_only, container, client, auth):
    people = [id_number() for _ in range(PROBE_THRESHOLD + 1)]
    client.post("/api/v1/violations/import", json=[violation(id_number=p) for p in people], headers=auth())
    keys = [stored_key(p) for p in people]
    query = text("EXPLAIN SELECT subject_type, record_year FROM violations WHERE lookup_key = ANY(:keys)")
    with container.engine.connect() as connection:
        plan = "\n".join(connection.execute(query, {"keys": keys}).scalars())
        assert "Seq Scan on violations" in plan  # a small table: scanning it is cheapest, by the default costs
        index_probes(connection, len(keys))
        plan = "\n".join(connection.execute(query, {"keys": keys}).scalars())
        assert "Seq Scan" not in plan and "ix_violations_subject_year" in plan
        assert connection.execute(text("SELECT current_setting('enable_seqscan')")).scalar() == "off"
        connection.rollback()  # the setting was this transaction's only
        assert connection.execute(text("SELECT current_setting('enable_seqscan')")).scalar() == "on"


def test_a_few_keys_change_nothing(postgresql_only, container):
    with container.engine.connect() as connection:
        index_probes(connection, PROBE_THRESHOLD)
        assert connection.execute(text("SELECT current_setting('enable_seqscan')")).scalar() == "on"


def test_a_large_copy_sends_from_a_second_thread_and_still_reports_a_duplicate(postgresql_only, container,
                                                                              monkeypatch):
    """records._copy_into: QueuedLibpqWriter for QUEUED_COPY_ROWS rows and more; a unique violation
    found by the database is still the IntegrityError intake turns into a replay."""
    from datetime import datetime, timezone
    from sqlalchemy.exc import IntegrityError
    from credit_service.adapters.orm import SubjectChangeRow
    from credit_service.adapters.records import QUEUED_COPY_ROWS, bulk_insert
    import psycopg.copy
    writers = []

    class Counted(psycopg.copy.QueuedLibpqWriter):
        def __init__(self, *args, **kwargs):
            writers.append(self)
            super().__init__(*args, **kwargs)
    monkeypatch.setattr(psycopg.copy, "QueuedLibpqWriter", Counted)
    now = datetime.now(timezone.utc)
    rows = [{"subject_type": "insured", "lookup_key": f"k:{i}", "changed_at": now, "origin": None}
            for i in range(QUEUED_COPY_ROWS)]
    with container.engine.begin() as connection:
        bulk_insert(connection, SubjectChangeRow.__table__, rows)
        assert connection.execute(text("SELECT count(*) FROM subject_changes WHERE lookup_key LIKE 'k:%'")).scalar() \
            == QUEUED_COPY_ROWS
    assert len(writers) == 1
    with container.engine.connect() as connection:
        bulk_insert(connection, SubjectChangeRow.__table__, rows[:QUEUED_COPY_ROWS - 1])
    assert len(writers) == 1  # fewer rows: sent as they are formatted
    table = text("CREATE TEMPORARY TABLE copy_probe (k varchar PRIMARY KEY)")
    with container.engine.connect() as connection:
        connection.execute(table)
        from sqlalchemy import Column, MetaData, String, Table
        probe = Table("copy_probe", MetaData(), Column("k", String, primary_key=True))
        with pytest.raises(IntegrityError):
            bulk_insert(connection, probe, [{"k": str(i % (QUEUED_COPY_ROWS - 1))} for i in range(QUEUED_COPY_ROWS)])
