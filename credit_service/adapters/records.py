"""Queries behind intake and the status index, in SQLAlchemy Core for bulk speed."""
from __future__ import annotations

import logging
from collections import defaultdict
from operator import itemgetter
from dataclasses import replace
from datetime import date
from typing import Iterable, Sequence

from sqlalchemy import String, Text, any_, bindparam, cast, func, insert, select, text, type_coerce
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..domain.identity import SubjectKey
from ..domain.ledger import SubjectLedger
from ..domain.status import MeasureFact, SubjectFacts
from ..metrics import INDEX_ROWS_SKIPPED
from . import deadlines
from .orm import ExpertRecommendationRow, MeasureRow, SubjectChangeRow, ViolationRow

log = logging.getLogger(__name__)


def _member_of(dialect: str, column, values: Sequence[str]):
    """`column IN values`: one array parameter on PostgreSQL (no 10,000-placeholder statements)."""
    if dialect == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(String), expanding=False))
    return column.in_(values)


# Look-ups of more keys than this go through `index_probes` on PostgreSQL.
PROBE_THRESHOLD = 50


def index_probes(connection: Connection | Session, n_keys: int) -> None:
    """From here to the end of the transaction, per-key look-ups are index probes (PostgreSQL).

    For `column = ANY(10,000 keys)` the planner's default costs (random_page_cost 4) favour a parallel
    sequential scan of the whole table: 2 s for `violations` at a million rows on the benchmark machine,
    growing with the province's tables instead of with the file. Index scans read only the keys' own
    rows (15 ms for 10,000 new subjects). So a transaction that looks up more than a few keys turns
    sequential scans and JIT compilation off for itself (`set_config(…, true)`: until its end; a
    statement with no index to use still scans). Once per transaction; no effect on SQLite."""
    dialect = (connection.get_bind() if isinstance(connection, Session) else connection).dialect.name
    if dialect != "postgresql" or n_keys <= PROBE_THRESHOLD:
        return
    if (transaction := connection.get_transaction()) is not None and connection.info.get("index_probes") is transaction:
        return
    connection.execute(text("SELECT set_config('enable_seqscan', 'off', true), set_config('jit', 'off', true)"))
    connection.info["index_probes"] = connection.get_transaction()


def _chunk_size(dialect: str) -> int:
    return 10_000 if dialect == "postgresql" else 900  # SQLite: stay under its bound-parameter limit


def _chunks(seq: Sequence, size: int):
    for i in range(0, len(seq), size):
        yield seq[i:i + size]


def find_by_refs(session: Session, refs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], ViolationRow]:
    by_source: dict[str, list[str]] = defaultdict(list)
    for source, ref in set(refs):
        by_source[source].append(ref)
    found: dict[tuple[str, str], ViolationRow] = {}
    dialect = session.get_bind().dialect.name
    index_probes(session, sum(map(len, by_source.values())))
    for source, source_refs in by_source.items():
        for chunk in _chunks(source_refs, _chunk_size(dialect)):
            rows = session.scalars(select(ViolationRow).where(
                ViolationRow.source == source, _member_of(dialect, ViolationRow.source_ref, chunk)))
            found.update({(r.source, r.source_ref): r for r in rows})
    return found


def measures_of_violations(session: Session, violation_ids: Sequence[str]) -> dict[str, list[MeasureRow]]:
    result: dict[str, list[MeasureRow]] = defaultdict(list)
    dialect = session.get_bind().dialect.name
    violation_ids = list(violation_ids)
    index_probes(session, len(violation_ids))
    for chunk in _chunks(violation_ids, _chunk_size(dialect)):
        for m in session.scalars(select(MeasureRow).where(_member_of(dialect, MeasureRow.violation_id, chunk))
                                 .order_by(MeasureRow.starts_on, MeasureRow.created_at)):
            result[m.violation_id].append(m)
    return result


def load_ledgers(session: Session, keys: Iterable[SubjectKey]) -> dict[SubjectKey, SubjectLedger]:
    keys = set(keys)
    ledgers: dict[SubjectKey, SubjectLedger] = {k: SubjectLedger() for k in keys}
    lookup_keys = sorted({n for _, n in keys})
    dialect = session.get_bind().dialect.name
    index_probes(session, len(lookup_keys))
    for chunk in _chunks(lookup_keys, _chunk_size(dialect)):
        totals = session.execute(
            select(ViolationRow.subject_type, ViolationRow.lookup_key, ViolationRow.record_year,
                   func.sum(ViolationRow.__table__.c.fund_loss_fen), func.sum(ViolationRow.points))
            .where(_member_of(dialect, ViolationRow.lookup_key, chunk), ViolationRow.voided_on.is_(None))
            .group_by(ViolationRow.subject_type, ViolationRow.lookup_key, ViolationRow.record_year))
        for subject_type, lookup_key, year, total, points in totals:  # SUM keeps the Yuan type: already yuan
            if (subject_type, lookup_key) in ledgers:
                ledgers[(subject_type, lookup_key)].year_loss[year] += total
                ledgers[(subject_type, lookup_key)].year_points[year] += points or 0
        measures = session.execute(
            select(MeasureRow.subject_type, MeasureRow.lookup_key, MeasureRow.record_year, MeasureRow.kind,
                   MeasureRow.months, MeasureRow.restores_on, MeasureRow.reregistration_from)
            .where(_member_of(dialect, MeasureRow.lookup_key, chunk), MeasureRow.revoked_on.is_(None)))
        for subject_type, lookup_key, year, kind, months, restores_on, again in measures:
            if (subject_type, lookup_key) in ledgers:
                ledgers[(subject_type, lookup_key)].note_measure(year, kind, months, restores_on, again)
    return ledgers


def insert_rows(session: Session, violations: list[dict], measures: list[dict], changed: Iterable[SubjectKey],
                changed_at, origin: str | None = None) -> None:
    connection = session.connection()
    if violations:
        bulk_insert(connection, ViolationRow.__table__, violations)
    if measures:
        bulk_insert(connection, MeasureRow.__table__, measures)
    changes = [{"subject_type": t, "lookup_key": n, "changed_at": changed_at, "origin": origin}
               for t, n in sorted(set(changed))]
    if changes:
        bulk_insert(connection, SubjectChangeRow.__table__, changes)


def bulk_insert(connection: Connection, table, rows: list[dict]) -> None:
    if connection.dialect.name == "postgresql" and len(rows) > 50:
        _copy_into(connection, table, rows)
    else:
        connection.execute(insert(table), rows)


QUEUED_COPY_ROWS = 1000


def _copy_into(connection: Connection, table, rows: list[dict]) -> None:
    """PostgreSQL COPY: several times faster than executemany for a large import."""
    from psycopg.copy import QueuedLibpqWriter
    present = [c for c in table.columns if c.key in rows[0]]  # leaves autoincrement keys to the database
    columns = ", ".join(c.name for c in present)
    keys = [c.key for c in present]
    # itemgetter of one key gives the value itself, not a 1-tuple (COPY would take a string's characters)
    pick = itemgetter(*keys) if len(keys) > 1 else (lambda row: (row[keys[0]],))
    # Only custom types (Yuan → fen) need converting; everything else psycopg adapts itself.
    converters = [(i, c.type.process_bind_param) for i, c in enumerate(present)
                  if hasattr(c.type, "process_bind_param")]
    raw = connection.connection.driver_connection
    statement = f"COPY {table.name} ({columns}) FROM STDIN"
    try:
        with deadlines.watched(connection), raw.cursor() as cursor:
            # A large COPY sends its data from a second thread: the rows are formatted here meanwhile,
            # instead of waiting for the socket after every 32 KiB (the database ingests while Python works).
            writer = QueuedLibpqWriter(cursor) if len(rows) >= QUEUED_COPY_ROWS else None
            with cursor.copy(statement, writer=writer) as copy:
                for row in rows:
                    values = pick(row)
                    if converters:
                        values = list(values)
                        for i, convert in converters:
                            if values[i] is not None:
                                values[i] = convert(values[i], None)
                    copy.write_row(values)
    except connection.dialect.loaded_dbapi.IntegrityError as exc:
        raise IntegrityError(statement, None, exc) from exc


def load_subject_facts(connection: Connection, keys: Iterable[SubjectKey] | None = None,
                       unreadable: set[SubjectKey] | None = None) -> dict[SubjectKey, SubjectFacts]:
    """Facts for the status check: all subjects when keys is None, else just those.

    A row that cannot be read (a day Python cannot hold, text in a date or year column) is skipped,
    logged without identifying the person, and counted (`credit_service_status_index_rows_skipped_total`):
    one bad row never stops a load. Its subject is added to `unreadable`, if given: the subject's facts
    are incomplete, and the status index answers an error for it rather than a guess."""
    measures: dict[SubjectKey, list[MeasureFact]] = defaultdict(list)
    # A bit per distinct record year, numbered as years are met (any year, however odd, gets one):
    # an int per subject is much cheaper than a set per subject.
    year_masks: dict[SubjectKey, int] = {}
    bit_of_year: dict[int, int] = {}
    recommended: dict[SubjectKey, set[int]] = defaultdict(set)
    bad: set[SubjectKey] = set()
    m, v, r = MeasureRow.__table__.c, ViolationRow.__table__.c, ExpertRecommendationRow.__table__.c
    dialect = connection.dialect.name
    measure_query = select(m.id, m.kind, m.region, _day_text(dialect, m.starts_on), _day_text(dialect, m.restores_on),
                           m.subject_type, m.lookup_key, m.credit_state,
                           _day_text(dialect, m.reregistration_from), m.article).where(m.revoked_on.is_(None))
    year_query = select(v.subject_type, v.lookup_key, v.record_year).where(v.voided_on.is_(None)).distinct()
    recommendation_query = select(r.subject_type, r.lookup_key, r.year).where(r.withdrawn_on.is_(None))
    # Practitioners' points per record year, for the credit evaluation (few rows: agreement violations).
    points_query = select(v.subject_type, v.lookup_key, v.record_year, func.sum(v.points)).where(
        v.voided_on.is_(None), v.points > 0).group_by(v.subject_type, v.lookup_key, v.record_year)
    if keys is None:
        batches = [(measure_query, year_query, recommendation_query, points_query)]
    else:
        wanted = set(keys)
        lookup_keys = sorted({n for _, n in wanted})
        batches = [(measure_query.where(_member_of(dialect, m.lookup_key, c)),
                    year_query.where(_member_of(dialect, v.lookup_key, c)),
                    recommendation_query.where(_member_of(dialect, r.lookup_key, c)),
                    points_query.where(_member_of(dialect, v.lookup_key, c)))
                   for c in _chunks(lookup_keys, _chunk_size(dialect))]
    types = {t: t for t in ("insured", "physician", "pharmacist")}  # one str object per type
    articles: dict[str, str] = {}  # one str object per article (a few dozen), not one per measure
    points: dict[SubjectKey, dict[int, int]] = defaultdict(dict)
    if keys is not None:
        index_probes(connection, len(lookup_keys))
    for mq, yq, rq, pq in batches:
        # .all(): one bulk fetch; iterating the result would fetch row by row (3× slower for 1M rows).
        for mid, kind, region, starts_on, restores_on, subject_type, lookup_key, credit, again, article in \
                connection.execute(mq).all():
            key = (types.get(subject_type, subject_type), lookup_key)
            try:
                fact = MeasureFact(mid, kind, region, _day(starts_on), _optional_day(restores_on),
                                   credit == "unrepaired", reregistration_from=_optional_day(again),
                                   article=articles.setdefault(article, article))
            except (TypeError, ValueError) as exc:
                _skip("measures", f"a date of measure {mid}", exc, key, bad)
                continue
            measures[key].append(fact)
        for subject_type, lookup_key, year, total in connection.execute(pq).all():
            points[(types.get(subject_type, subject_type), lookup_key)][year] = int(total)
        for subject_type, lookup_key, year in connection.execute(rq).all():
            if year.__class__ is not int:
                _skip("expert_recommendations", "an expert recommendation", year, (subject_type, lookup_key), bad)
                continue
            recommended[(subject_type, lookup_key)].add(year)
        get = year_masks.get
        for subject_type, lookup_key, year in connection.execute(yq).all():
            key = (types.get(subject_type, subject_type), lookup_key)
            bit = bit_of_year.get(year)
            if bit is None:
                if year.__class__ is not int:
                    _skip("violations", "a violation's record_year", year, key, bad)
                    continue
                bit = bit_of_year[year] = len(bit_of_year)
            year_masks[key] = get(key, 0) | (1 << bit)
    if keys is not None:
        year_masks = {k: mask for k, mask in year_masks.items() if k in wanted}
        measures = {k: ms for k, ms in measures.items() if k in wanted}
        recommended = {k: ys for k, ys in recommended.items() if k in wanted}
        points = {k: ys for k, ys in points.items() if k in wanted}
        bad &= wanted
    if unreadable is not None:
        unreadable |= bad
    # Most subjects share a handful of year sets and have no measures: share those objects, so the
    # index of a province stays within a few hundred MiB per worker.
    measureless: dict[int, SubjectFacts] = {}
    year_sets: dict[int, frozenset[int]] = {}
    year_of_bit = sorted(bit_of_year, key=bit_of_year.__getitem__)

    def years_of(mask: int) -> frozenset[int]:
        if mask not in year_sets:
            year_sets[mask] = frozenset(year_of_bit[b] for b in range(mask.bit_length()) if mask >> b & 1)
        return year_sets[mask]

    facts: dict[SubjectKey, SubjectFacts] = {}
    for key, mask in year_masks.items():
        if key not in measures:
            shared = measureless.get(mask)
            if shared is None:
                shared = measureless[mask] = SubjectFacts(record_years=years_of(mask))
            facts[key] = shared
    for key, subject_measures in measures.items():
        facts[key] = SubjectFacts(measures=tuple(sorted(subject_measures, key=_measure_order)),
                                  record_years=years_of(year_masks.get(key, 0)))
    for key, years in recommended.items():
        known = facts.get(key)
        facts[key] = SubjectFacts(measures=known.measures if known else (),
                                  record_years=years_of(year_masks.get(key, 0)), recommended_years=frozenset(years))
    for key, by_year in points.items():
        known = facts.get(key)
        if known is not None:
            facts[key] = replace(known, points=tuple(sorted(by_year.items())))
    return facts


def _measure_order(fact: MeasureFact) -> tuple:
    # By start, then id: one order whatever order the rows came in (a load of some subjects and the full
    # load give the same facts, so the node's snapshot updated from the feed is the full build's bytes).
    return fact.starts_on, fact.measure_id


def _day_text(dialect: str, column):
    """A date column as the text stored, parsed row by row in Python (`_day`): a day Python cannot hold
    (PostgreSQL's 'infinity', a BC date; any text in SQLite) would otherwise fail the whole fetch.
    PostgreSQL writes dates as YYYY-MM-DD under DateStyle ISO, which every connection sets (database.py)."""
    return cast(column, Text) if dialect == "postgresql" else type_coerce(column, String)


def _day(value) -> date:
    if value.__class__ is date:
        return value
    if value is None:
        raise ValueError("missing date")
    return date.fromisoformat(value)


def _optional_day(value) -> date | None:
    return None if value is None else _day(value)


def _skip(table: str, what: str, problem, key: SubjectKey, bad: set[SubjectKey]) -> None:
    # Neither the subject (its lookup key is derived from the identity number) nor the stored value
    # (it could be anything) is logged: only where to look.
    log.warning("status facts: %s is unreadable (%s), skipped; its subject's status is answered with an "
                "error until the row is repaired", what, type(problem).__name__)
    INDEX_ROWS_SKIPPED.labels(table).inc()
    if key[1] is not None:
        bad.add(key)


def changes_since(connection: Connection, floor: int) -> list[tuple[int, str, str, str | None]]:
    c = SubjectChangeRow.__table__.c
    return [tuple(r) for r in connection.execute(
        select(c.seq, c.subject_type, c.lookup_key, c.origin).where(c.seq > floor).order_by(c.seq))]


def latest_change_seq(connection: Connection) -> int:
    return connection.execute(select(func.max(SubjectChangeRow.__table__.c.seq))).scalar() or 0
