"""The sample file the README uses imports as the README says."""
from __future__ import annotations

from credit_service.settings import PROJECT_ROOT


def test_readme_sample_csv_two_rows_recorded_one_rejected(client, auth):
    data = (PROJECT_ROOT / "examples" / "violations.csv").read_bytes()
    response = client.post("/api/v1/violations/import", data=data, content_type="text/csv", headers=auth())
    results = response.json["results"]
    assert [r["status"] for r in results] == ["created", "created", "rejected"]
    assert [m["article"] for m in results[0]["measures"]] == ["第九条第二项"]
    assert {m["article"] for m in results[1]["measures"]} == {"第九条第四项", "第九条第五项"}
    assert results[2]["error"]["code"] == "invalid_id_number"
