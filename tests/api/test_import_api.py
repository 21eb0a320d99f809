"""POST /api/v1/violations/import: JSON arrays and CSV, per-row results, all-or-nothing per row."""
from __future__ import annotations

import io

from sqlalchemy import func, select

from credit_service.adapters.orm import MeasureRow, ViolationRow
from tests.factories import id_number, violation, with_wrong_check_digit

CSV_HEADER = "source,source_ref,subject_type,id_number,name,region,occurred_on,determined_on,fund_loss,handling,fraud,points,description"


def count(container, model) -> int:
    with container.session_factory() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_one_bad_row_rejects_none_of_the_good_ones(client, auth, container):
    rows = [violation(), violation(fund_loss=12.5), violation(), violation(region="3701"), violation()]
    rows[1]["subject"]["id_number"] = with_wrong_check_digit(id_number())
    response = client.post("/api/v1/violations/import", json=rows, headers=auth())
    assert response.status_code == 200
    body = response.json
    assert body["summary"] == {"total": 5, "created": 3, "duplicate": 0, "rejected": 2}
    statuses = [r["status"] for r in body["results"]]
    assert statuses == ["created", "rejected", "created", "rejected", "created"]
    assert body["results"][1]["error"]["code"] == "invalid_id_number"
    assert "fund_loss" in body["results"][1]["error"]["errors"]
    assert body["results"][3]["error"]["errors"] == {"region": ["统筹区编码应为6位行政区划代码，如370100。"]}
    assert [r["index"] for r in body["results"]] == [0, 1, 2, 3, 4]
    assert count(container, ViolationRow) == 3
    assert count(container, MeasureRow) == 3


def test_rows_of_one_person_in_one_import_aggregate_in_order(client, auth):
    person = id_number()
    rows = [violation(id_number=person, fund_loss="60000.00", determined_on="2025-04-10"),
            violation(id_number=person, fund_loss="60000.00", determined_on="2025-05-10"),
            violation(id_number=person, fund_loss="90000.00", determined_on="2025-06-10")]
    results = client.post("/api/v1/violations/import", json=rows, headers=auth()).json["results"]
    months = [[m["months"] for m in r["measures"]] for r in results]
    assert months == [[3], [3], [3]]  # tier 1 → 3, tier 2 → 6 in all (+3), tier 3 → 9 in all (+3)
    assert [r["measures"][0]["starts_on"] for r in results] == ["2025-04-10", "2025-07-10", "2025-10-10"]


def test_a_replayed_row_is_a_duplicate_and_a_changed_one_a_conflict(client, auth, container):
    first = violation()
    client.post("/api/v1/violations", json=first, headers=auth())
    changed = dict(first, description="另一描述")
    same_in_batch = violation()
    response = client.post("/api/v1/violations/import", json=[first, changed, same_in_batch, same_in_batch],
                           headers=auth())
    statuses = [(r["status"], (r.get("error") or {}).get("code")) for r in response.json["results"]]
    assert statuses == [("duplicate", None), ("rejected", "duplicate_source_ref"), ("created", None),
                        ("duplicate", None)]
    assert count(container, ViolationRow) == 2


def test_csv_import_utf8_and_gbk(client, auth, container):
    a, b = id_number(), id_number()
    text = "\n".join([CSV_HEADER,
                      f"smart-audit,CSV-1,insured,{a},张三,370100,2025-03-02,2025-04-10,150000.00,administrative,false,,虚构医疗服务",
                      f"smart-audit,CSV-2,insured,{b},李四,370100,2025-03-02,2025-04-10,abc,administrative,false,,串换药品"])
    response = client.post("/api/v1/violations/import", data=text.encode("utf-8"), content_type="text/csv",
                           headers=auth())
    assert response.status_code == 200, response.json
    assert [r["status"] for r in response.json["results"]] == ["created", "rejected"]
    assert "fund_loss" in response.json["results"][1]["error"]["errors"]
    gbk = text.replace("CSV-1", "CSV-3").replace("CSV-2", "CSV-4").replace(",abc,", ",1.00,").encode("gb18030")
    upload = client.post("/api/v1/violations/import", data={"file": (io.BytesIO(gbk), "v.csv")},
                         content_type="multipart/form-data", headers=auth())
    assert [r["status"] for r in upload.json["results"]] == ["created", "created"]
    assert count(container, ViolationRow) == 3


def test_csv_without_required_columns_is_rejected_whole(client, auth):
    response = client.post("/api/v1/violations/import", data="source,source_ref\nx,y\n", content_type="text/csv",
                           headers=auth())
    assert response.status_code == 422
    assert response.json["code"] == "malformed_import"


def test_10000_rows_are_accepted_in_one_request(client, auth, container):
    rows = [violation(id_number=id_number(seq=i % 1000, birth=f"19{50 + i // 1000:02d}0101"),
                      source_ref=f"BULK-{i}", fund_loss="1000.00") for i in range(10_000)]
    response = client.post("/api/v1/violations/import", json=rows, headers=auth())
    assert response.status_code == 200
    assert response.json["summary"]["created"] == 10_000
    assert count(container, ViolationRow) == 10_000


def test_10001_rows_are_refused_and_nothing_is_written(client, auth, container):
    rows = [violation(source_ref=f"BIG-{i}") for i in range(10_001)]
    response = client.post("/api/v1/violations/import", json=rows, headers=auth())
    assert response.status_code == 422
    assert response.json["code"] == "too_many_rows"
    assert "10000" in response.json["detail"]
    assert count(container, ViolationRow) == 0


def test_import_body_must_be_an_array(client, auth):
    response = client.post("/api/v1/violations/import", json={"rows": []}, headers=auth())
    assert response.status_code == 422
    assert response.json["code"] == "malformed_import"


def test_staff_rows_for_another_region_are_rejected_row_by_row(client, auth):
    response = client.post("/api/v1/violations/import", json=[violation(region="370100"), violation(region="371000")],
                           headers=auth("staff-jinan"))
    assert [(r["status"], (r.get("error") or {}).get("code")) for r in response.json["results"]] == [
        ("created", None), ("rejected", "region_not_allowed")]


def test_import_of_another_media_type_is_415(client, auth):
    response = client.post("/api/v1/violations/import", data=b"<xml/>", content_type="application/xml",
                           headers=auth())
    assert response.status_code == 415
    assert response.json["code"] == "unsupported_media_type"


def test_the_garbage_collector_is_paused_during_an_import_and_on_again_after(client, auth, monkeypatch):
    """Issue 13, item 9: a 10,000-row import allocated enough to set off hundreds of collections, the full
    ones walking every object of the worker (its status index too): a fifth of the import's time."""
    import gc
    from credit_service.services import intake
    seen = []
    record = intake.record_violations

    def spy(*args, **kwargs):
        seen.append(gc.isenabled())
        return record(*args, **kwargs)
    monkeypatch.setattr(intake, "record_violations", spy)
    assert gc.isenabled()
    response = client.post("/api/v1/violations/import", json=[violation(), violation()], headers=auth())
    assert response.json["summary"]["created"] == 2
    assert seen == [False] and gc.isenabled()
    client.post("/api/v1/violations/import", data="not json", content_type="application/json", headers=auth())
    assert gc.isenabled()  # also after a refused body
