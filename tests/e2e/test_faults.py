"""Faults against the real server: kill -9 during a large import, and webhook delivery across a kill -9
while the receiver fails and recovers. Runs on whichever database the suite runs on."""
from __future__ import annotations

import json
import threading
import time
from datetime import date, timedelta

import pytest
import requests
from pathlib import Path

from sqlalchemy import create_engine, func, select, text

from credit_service.adapters.orm import MeasureRow, SubjectChangeRow, ViolationRow
from credit_service.domain.identity import check_digit
from credit_service.services.clients import create_client
from tests.e2e.server import Server
from tests.factories import stored_key
from tests.webhook_receiver import SECRET, Receiver

RECENT = {"occurred_on": "2026-10-01", "determined_on": "2026-11-20"}


def _numbers(start: int, count: int) -> list[str]:
    numbers = []
    for i in range(start, start + count):
        first17 = f"370102{(date(1960, 1, 1) + timedelta(days=i // 900)):%Y%m%d}{i % 900:03d}"
        numbers.append(first17 + check_digit(first17))
    return numbers


def _rows(batch: str, numbers: list[str]) -> list[dict]:
    return [{"source": "fault-test", "source_ref": f"{batch}-{i:05d}",
             "subject": {"subject_type": "insured", "id_number": n, "name": "测试"}, "region": "370100",
             "fund_loss": f"{100000 + i}.00", "handling": "administrative", "fraud": False, "points": None,
             "description": "kill -9 测试", **RECENT} for i, n in enumerate(numbers)]


@pytest.fixture
def admin_token(container):
    return create_client(container.uow(), container.clock, "fault-admin", "admin")[1]


def _writing_started(database_url: str):
    """A probe that turns true once the import's transaction is writing rows (then the kill lands
    between the first written row and the commit)."""
    engine = create_engine(database_url)
    if engine.dialect.name == "postgresql":
        def probe():
            with engine.connect() as connection:
                return connection.execute(text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND state = 'active' AND (query LIKE 'COPY violations%' OR query LIKE 'COPY measures%' "
                    "OR query LIKE 'COPY subject_changes%' OR query LIKE 'COPY audit%')")).scalar() > 0
        return probe, engine
    wal = Path(engine.url.database + "-wal")
    baseline = wal.stat().st_size if wal.exists() else 0
    return (lambda: wal.exists() and wal.stat().st_size > baseline + 1_000_000), engine


@pytest.mark.parametrize("moment", ["while deciding", "while writing"])
def test_kill_9_during_a_large_import_keeps_every_acknowledged_row_and_half_writes_none(
        container, database_url, admin_token, moment):
    headers = {"Authorization": f"Bearer {admin_token}"}
    batches = {"A": _rows("A", _numbers(0, 2000)), "B": _rows("B", _numbers(2000, 2000)),
               "C": _rows("C", _numbers(4000, 10000))}
    server = Server(database_url)
    acknowledged: dict[str, dict] = {}
    try:
        for name in ("A", "B"):
            response = requests.post(f"{server.base}/api/v1/violations/import", json=batches[name], headers=headers,
                                     timeout=120)
            assert response.status_code == 200 and response.json()["summary"]["created"] == 2000
            acknowledged[name] = response.json()
        outcome: dict = {}

        def send_c():
            try:
                outcome["response"] = requests.post(f"{server.base}/api/v1/violations/import", json=batches["C"],
                                                    headers=headers, timeout=120)
            except requests.RequestException as exc:
                outcome["error"] = exc
        probe, probe_engine = _writing_started(database_url)
        sender = threading.Thread(target=send_c)
        sender.start()
        if moment == "while deciding":
            time.sleep(0.4)  # the 10,000 rows are uploaded and being parsed and decided (about 2 s in all)
            writing = False
        else:
            deadline = time.monotonic() + 30
            while not (writing := probe()) and sender.is_alive() and time.monotonic() < deadline:
                time.sleep(0.005)
        server.kill_9()
        probe_engine.dispose()
        sender.join(30)
    finally:
        server.stop()
    c_acknowledged = "response" in outcome and outcome["response"].status_code == 200
    if moment == "while writing":
        assert writing or c_acknowledged, "the kill did not land while the import was writing"


    with container.session_factory() as session:
        stored = {v.source_ref: v for v in session.scalars(select(ViolationRow).where(ViolationRow.source == "fault-test"))}
        measures_of: dict[str, set[str]] = {}
        for m in session.scalars(select(MeasureRow)):
            measures_of.setdefault(m.violation_id, set()).add(m.id)
        fed = {n for (n,) in session.execute(select(SubjectChangeRow.lookup_key))}
        orphan_measures = session.scalar(select(func.count()).select_from(MeasureRow).where(
            MeasureRow.violation_id.not_in(select(ViolationRow.id))))
    # Every acknowledged row is there, whole: its fields, its measures, its change-feed (outbox) entry.
    for name, answer in acknowledged.items():
        for row, result in zip(batches[name], answer["results"]):
            v = stored[row["source_ref"]]
            assert (v.id, v.lookup_key, str(v.fund_loss), v.determined_on.isoformat()) == (
                result["violation_id"], stored_key(row["subject"]["id_number"]), row["fund_loss"],
                row["determined_on"])
            assert measures_of.get(v.id, set()) == {m["id"] for m in result["measures"]} != set()
            assert v.lookup_key in fed
    # The import in flight is all or nothing; whatever is there is whole too.
    c_refs = [r["source_ref"] for r in batches["C"]]
    present = [ref for ref in c_refs if ref in stored]
    assert len(present) in (0, len(c_refs)), f"{len(present)} of {len(c_refs)} rows of the killed import"
    print(f"kill -9 {moment} (rows being written: {writing}): the 10,000-row import was {'answered' if c_acknowledged else 'not answered'}, "
          f"{len(present)} of its rows stored")
    if c_acknowledged:
        assert len(present) == len(c_refs)
    for ref in present:
        assert measures_of.get(stored[ref].id) and stored[ref].lookup_key in fed
    assert orphan_measures == 0

    # A restarted server answers from what was stored, and the sender can safely send the lost import again.
    server = Server(database_url)
    try:
        number = batches["A"][0]["subject"]["id_number"]
        status = requests.get(f"{server.base}/api/v1/subjects/insured/{number}/status", headers=headers, timeout=10)
        assert status.status_code == 200 and status.json()["settlement_allowed"] is False
        again = requests.post(f"{server.base}/api/v1/violations/import", json=batches["C"], headers=headers,
                              timeout=120)
        assert again.status_code == 200
        summary = again.json()["summary"]
        assert summary == {"total": 10000, "created": 0 if present else 10000, "duplicate": 10000 if present else 0,
                           "rejected": 0}
    finally:
        server.stop()


def test_webhooks_reach_a_failing_then_recovering_receiver_exactly_once_across_a_kill_9(
        container, database_url, admin_token):
    headers = {"Authorization": f"Bearer {admin_token}"}
    receiver = Receiver()
    receiver.fail_next = 6
    env = {"CREDIT_SERVICE_SCHEDULER": "embedded", "CREDIT_SERVICE_WEBHOOK_INTERVAL_SECONDS": "0.2",
           "CREDIT_SERVICE_WEBHOOK_BACKOFF_SECONDS": "0.2", "CREDIT_SERVICE_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1"}
    server = Server(database_url, **env)
    try:
        assert requests.post(f"{server.base}/api/v1/webhooks", headers=headers, timeout=10, json={
            "url": receiver.url, "secret": SECRET, "events": ["status.changed"],
            "scope": {"regions": ["370100"]}}).status_code == 201
        rows = _rows("W", _numbers(20000, 30))
        for row in rows[:10]:
            assert requests.post(f"{server.base}/api/v1/violations", json=row, headers=headers,
                                 timeout=10).status_code == 201
        assert requests.post(f"{server.base}/api/v1/violations/import", json=rows[10:], headers=headers,
                             timeout=30).status_code == 200
        _wait_for(lambda: len(receiver.events()) >= 3, 20)
        server.kill_9()  # in the middle of delivering: some sent, some not, perhaps one sent but not recorded
        delivered_before = len(_unique(receiver.events()))
        server = Server(database_url, **env)
        _wait_for(lambda: len(_unique(receiver.events())) >= 30, 30)
        time.sleep(1.0)  # anything still to come would come now
    finally:
        server.stop()
        receiver.close()
    from credit_service.adapters.subjects import reveal
    with container.session_factory() as session:
        feed = {r.seq: r.lookup_key for r in session.scalars(select(SubjectChangeRow))
                if r.subject_type == "insured"}
        numbers = reveal(session, container.keys, feed.values())  # the feed holds lookup keys
        feed = {seq: numbers[key] for seq, key in feed.items()}
    events = receiver.events()
    unique = _unique(events)
    print(f"{len(events)} events received, {len(unique)} unique, {delivered_before} before the kill")
    assert sorted(unique) == sorted(f"chg-{seq}" for seq in feed)
    assert {feed[e["seq"]][-4:] for e in unique.values()} == {r["subject"]["id_number"][-4:] for r in rows}
    assert all(e["status"]["settlement_allowed"] is False for e in unique.values())
    assert not any(r["subject"]["id_number"] in json.dumps(events) for r in rows)


def _unique(events):
    return {e["event_id"]: e for e in events}


def _wait_for(condition, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError("timed out")


def test_metrics_sum_every_worker(container, database_url, admin_token, tmp_path):
    server = Server(database_url, PROMETHEUS_MULTIPROC_DIR=tmp_path)
    try:
        url = f"{server.base}/api/v1/subjects/insured/{_numbers(30000, 1)[0]}/status"
        with requests.Session() as http:
            http.headers["Authorization"] = f"Bearer {admin_token}"
            for _ in range(40):  # new connections: the server spreads them over both workers
                assert requests.get(url, headers=http.headers, timeout=5).status_code == 200
        metrics = requests.get(f"{server.base}/metrics", timeout=5).text
    finally:
        server.stop()
    line = next(l for l in metrics.splitlines() if l.startswith("credit_service_http_requests_total{")
                and 'endpoint="/api/v1/subjects/<subject_type>/<id_number>/status"' in l and 'status="200"' in l)
    assert float(line.rsplit(" ", 1)[1]) == 40.0
