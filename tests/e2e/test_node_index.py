"""Issue 13 item 7 end to end: `credit-service serve` with 2 workers and CREDIT_SERVICE_INDEX_STORE=shared
builds one snapshot for the node, both workers map it, and every answer is the in-memory index's."""
from __future__ import annotations

import requests

from tests.e2e.server import Server
from tests.factories import id_number, violation

ON = "2025-06-01"


def test_two_workers_share_one_snapshot_and_answer_changes_at_once(database_url, tokens, tmp_path):
    admin = {"Authorization": f"Bearer {tokens['admin']}"}
    settlement = {"Authorization": f"Bearer {tokens['settlement']}"}
    before = [id_number(seq=700 + i) for i in range(5)]
    memory = Server(database_url, workers=1)
    try:
        for number in before:  # recorded before the node starts: in its snapshot
            assert requests.post(f"{memory.base}/api/v1/violations", headers=admin, timeout=30,
                                 json=violation(id_number=number)).status_code == 201
    finally:
        memory.stop()
    node = Server(database_url, workers=2, CREDIT_SERVICE_INDEX_STORE="shared", CREDIT_SERVICE_LOG_LEVEL="INFO",
                  CREDIT_SERVICE_INDEX_POLL_SECONDS="30", CREDIT_SERVICE_DATA_DIR=str(tmp_path / "node"))
    try:
        def allowed(number):
            return requests.get(f"{node.base}/api/v1/subjects/insured/{number}/status?on={ON}", headers=settlement,
                                timeout=30).json()["settlement_allowed"]
        for _ in range(8):  # new connections: either worker
            assert [allowed(n) for n in before] == [False] * 5
        later = id_number(seq=760)
        assert allowed(later)
        assert requests.post(f"{node.base}/api/v1/violations", headers=admin, timeout=30,
                             json=violation(id_number=later)).status_code == 201
        for _ in range(8):  # the change after the snapshot, from each worker's overlay
            assert allowed(later) is False
        log = node.log()
        assert log.count("status index snapshot built for this node") == 1, log
        assert log.count("(node snapshot,") == 2, log  # both workers loaded from it
        assert len(list((tmp_path / "node" / "status-index").glob("*.snapshot"))) == 1
    finally:
        node.stop()
