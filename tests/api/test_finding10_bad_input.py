"""Issue 9, finding 10: input that made a 500 is a 4xx problem+json, and nothing is written.

On PostgreSQL a U+0000 in any text made a DataError, an integer beyond the column an "integer out of
range"; everywhere a lone surrogate could not be answered, JSON nested 1,000 deep raised RecursionError
in the parser, the CSV reader raised _csv.Error, and a second evidence-complete hit a unique index."""
from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import func, select

from credit_service.adapters.orm import AuditEventRow, ObjectionRow, ViolationRow
from tests.factories import id_number, violation

PROBLEM = "application/problem+json"
CSV_HEADER = "source,source_ref,subject_type,id_number,name,region,occurred_on,determined_on,fund_loss,handling"


def problem(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:500])
    assert response.mimetype == PROBLEM
    body = response.json
    assert body["status"] == status and body["detail"] and body["title"] and body["type"]
    if code is not None:
        assert body["code"] == code, body
    return body


def violations_stored(container) -> int:
    with container.session_factory() as session:
        return session.scalar(select(func.count()).select_from(ViolationRow))


def raw_json(text: str) -> dict:
    return {"data": text.encode(), "content_type": "application/json"}


def _measure(client, auth) -> str:
    response = client.post("/api/v1/violations", json=violation(determined_on="2026-10-09", occurred_on="2026-09-01"),
                           headers=auth())
    assert response.status_code == 201, response.json
    return response.json["measures"][0]["id"]


def _objection(client, auth) -> str:
    response = client.post("/api/v1/objections", json={"measure_id": _measure(client, auth), "filed_on": "2026-10-20",
                                                       "reason": "金额有误"}, headers=auth("staff-jinan"))
    assert response.status_code == 201, response.json
    return response.json["id"]


# -- U+0000 in any string ---------------------------------------------------------------------------

def _with(path: str, value):
    def body():
        b = violation()
        target, *rest = path.split(".")
        if rest:
            b[target][rest[0]] = value
        else:
            b[target] = value
        return b
    return body


@pytest.mark.parametrize("field", ["description", "source", "source_ref", "subject.name", "category"])
def test_finding10_nul_in_a_violation_string_is_422_naming_the_field(client, auth, container, field):
    body = _with(field, "虚构\x00医疗")()
    response = client.post("/api/v1/violations", json=body, headers=auth())
    assert field in problem(response, 422, "validation_failed")["errors"]
    assert violations_stored(container) == 0


def test_finding10_nul_in_an_unknown_key_is_422(client, auth, container):
    body = violation()
    body["extra\x00key"] = 1
    problem(client.post("/api/v1/violations", json=body, headers=auth()), 422)
    assert violations_stored(container) == 0


@pytest.mark.parametrize("field", ["description", "source_ref", "subject.name", "category"])
def test_finding10_nul_in_a_json_import_row_rejects_that_row_only(client, auth, container, field):
    rows = [violation(), _with(field, "a\x00b")(), violation()]
    response = client.post("/api/v1/violations/import", json=rows, headers=auth())
    assert response.status_code == 200, response.json
    assert [r["status"] for r in response.json["results"]] == ["created", "rejected", "created"]
    assert field in response.json["results"][1]["error"]["errors"]
    assert violations_stored(container) == 2


def test_finding10_nul_in_a_csv_import_is_422(client, auth, container):
    csv = f"{CSV_HEADER}\nt,R-1,insured,{id_number()},张\x00三,370100,2025-03-02,2025-04-10,1.00,administrative\n"
    problem(client.post("/api/v1/violations/import", data=csv.encode(), content_type="text/csv", headers=auth()),
            422, "malformed_import")
    assert violations_stored(container) == 0


@pytest.mark.parametrize("make", [
    lambda m: ("/api/v1/objections", {"measure_id": m, "filed_on": "2026-10-20", "reason": "有\x00误"}),
    lambda m: ("/api/v1/objections", {"measure_id": m, "filed_on": "2026-10-20", "reason": "有误",
                                      "evidence": ["清单\x00"]}),
    lambda m: ("/api/v1/objections", {"measure_id": m + "\x00", "filed_on": "2026-10-20", "reason": "有误"}),
    lambda m: (f"/api/v1/measures/{m}/notice", {"served_on": "2026-10-12\x00", "received_on": "2026-10-13"}),
    lambda m: ("/api/v1/webhooks", {"url": "https://example.cn/\x00", "secret": "s" * 20,
                                    "events": ["status.changed"]}),
    lambda m: ("/api/v1/webhooks", {"url": "https://example.cn/hook", "secret": "s\x00" * 10,
                                    "events": ["status.changed"]}),
    lambda m: ("/api/v1/status/batch", {"subjects": [{"subject_type": "insured",
                                                      "id_number": "37010219900101123\x00"}]}),
    lambda m: ("/api/v1/claims/check", {"insured": {"subject_type": "insured\x00", "id_number": id_number()}}),
], ids=["objection-reason", "objection-evidence", "objection-measure-id", "notice-date", "webhook-url",
        "webhook-secret", "batch-id-number", "claim-subject-type"])
def test_finding10_nul_in_any_other_body_is_422(client, auth, container, make):
    path, body = make(_measure(client, auth))
    with container.session_factory() as session:
        events = session.scalar(select(func.count()).select_from(AuditEventRow))
    problem(client.post(path, json=body, headers=auth()), 422)
    with container.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(AuditEventRow)) == events


@pytest.mark.parametrize("url", [
    "/api/v1/objections/ab%00cd", "/api/v1/repairs/%00", "/api/v1/measures/m%00/notice",
    "/api/v1/subjects/insured/37010219900101123%00/status", "/api/v1/subjects/insured/%00/record",
])
def test_finding10_nul_in_a_path_is_404(client, auth, url):
    problem(client.get(url, headers=auth()), 404)


@pytest.mark.parametrize("url", [
    "/api/v1/worklist?region=3701%000", "/api/v1/audit?region=%00", "/api/v1/audit?id_number=%00",
    "/api/v1/audit?from=2026-01-0%00", "/api/v1/worklist?due_before=%00",
    f"/api/v1/subjects/insured/{id_number()}/record?year=20%0026",
    f"/api/v1/subjects/insured/{id_number()}/status?on=%00",
])
def test_finding10_nul_in_a_query_is_422(client, auth, url):
    problem(client.get(url, headers=auth()), 422)


# -- a lone surrogate -------------------------------------------------------------------------------

@pytest.mark.parametrize("escape", ["\\ud800", "\\udfff", "a\\ud83d"])
def test_finding10_lone_surrogate_in_name_is_400(client, auth, container, escape):
    text = json.dumps(violation(), ensure_ascii=False).replace('"张三"', f'"{escape}"')
    problem(client.post("/api/v1/violations", headers=auth(), **raw_json(text)), 400, "malformed_request")
    assert violations_stored(container) == 0


def test_finding10_a_proper_surrogate_pair_is_a_character(client, auth):
    text = json.dumps(violation(), ensure_ascii=False).replace('"张三"', '"\\ud842\\udfb7"')  # 𠮷
    response = client.post("/api/v1/violations", headers=auth(), **raw_json(text))
    assert response.status_code == 201 and response.json["violation"]["subject"]["name"] == "𠮷"


# -- JSON nested 1,000 deep -------------------------------------------------------------------------

@pytest.mark.parametrize("depth", [1000, 1100, 100_000])
@pytest.mark.parametrize("path, wrap", [
    ("/api/v1/violations", lambda deep: deep),
    ("/api/v1/violations", lambda deep: json.dumps(violation())[:-1] + f', "months": {deep}}}'),
    ("/api/v1/status/batch", lambda deep: deep),
    ("/api/v1/status/batch", lambda deep: '{"subjects": ' + deep + '}'),
    ("/api/v1/violations/import", lambda deep: deep),
    ("/api/v1/claims/check", lambda deep: '{"insured": ' + deep + '}'),
    ("/api/v1/objections", lambda deep: '{"evidence": ' + deep + '}'),
], ids=["violation", "violation-field", "batch", "batch-subjects", "import", "claim", "objection"])
def test_finding10_json_nested_deep_is_a_4xx_problem(client, auth, container, path, wrap, depth):
    deep = "[" * depth + "]" * depth
    response = client.post(path, headers=auth(), **raw_json(wrap(deep)))
    if response.status_code == 200:  # an import: the nested row is one rejected row
        assert path.endswith("/import") and depth <= 1024
        assert response.json["summary"] == {"total": 1, "created": 0, "duplicate": 0, "rejected": 1}
    else:
        assert 400 <= response.status_code < 500
        problem(response, response.status_code)
    assert violations_stored(container) == 0


# -- CSV the reader cannot read ---------------------------------------------------------------------

def test_finding10_csv_with_a_stray_carriage_return_is_422(client, auth, container):
    csv = (f"{CSV_HEADER}\nt,R-1,insured,{id_number()},张三,370100,2025-03-02,2025-04-10,1.00,administrative\n"
           f"t,R-\r2,insured,{id_number()},李四,370100,2025-03-02,2025-04-10,1.00,administrative\n")
    body = problem(client.post("/api/v1/violations/import", data=csv.encode(), content_type="text/csv",
                               headers=auth()), 422, "malformed_import")
    assert "第3行" in body["detail"]
    assert violations_stored(container) == 0


def test_finding10_csv_field_over_128_kib_is_422(client, auth, container):
    long_ref = "R" * (128 * 1024 + 1)
    csv = f"{CSV_HEADER}\nt,{long_ref},insured,{id_number()},张三,370100,2025-03-02,2025-04-10,1.00,administrative\n"
    problem(client.post("/api/v1/violations/import", data=csv.encode(), content_type="text/csv", headers=auth()),
            422, "malformed_import")
    multipart = {"file": (io.BytesIO(csv.encode()), "v.csv")}
    problem(client.post("/api/v1/violations/import", data=multipart, content_type="multipart/form-data",
                        headers=auth()), 422, "malformed_import")
    assert violations_stored(container) == 0


# -- integers beyond their columns ------------------------------------------------------------------

@pytest.mark.parametrize("after", [str(10**21), str(2**63), "99999999999999999999", "²", "-1", "1.5", ""])
def test_finding10_audit_after_out_of_range_is_422(client, auth, after):
    problem(client.get(f"/api/v1/audit?after={after}", headers=auth()), 422, "validation_failed")


def test_finding10_audit_after_the_largest_seq_is_an_empty_page(client, auth):
    response = client.get(f"/api/v1/audit?after={2**63 - 1}", headers=auth())
    assert response.status_code == 200 and response.json == {"events": [], "next_after": None}


@pytest.mark.parametrize("field, value", [("points", 2**31), ("points", 10**19), ("points", -1),
                                          ("months", 2**31), ("months", 2**62)])
def test_finding10_integers_beyond_their_columns_are_422(client, auth, container, field, value):
    body = violation(**{field: value})
    body["subject"]["subject_type"] = "physician" if field == "points" else "insured"
    problem(client.post("/api/v1/violations", json=body, headers=auth()), 422, "validation_failed")
    result = client.post("/api/v1/violations/import", json=[body], headers=auth()).json["results"][0]
    assert result["status"] == "rejected" and field in result["error"]["errors"]
    assert violations_stored(container) == 0


def test_finding10_expert_recommendation_year_beyond_range_is_422(client, auth):
    number = id_number()
    problem(client.post(f"/api/v1/subjects/physician/{number}/expert-recommendations", headers=auth(),
                        json={"year": 2**40, "region": "370100", "reason": "表现突出"}), 422, "validation_failed")


@pytest.mark.parametrize("year", ["²²²²", "２０２６", "12345", ""])
def test_finding10_record_year_not_four_ascii_digits_is_422(client, auth, year):
    problem(client.get(f"/api/v1/subjects/insured/{id_number()}/record?year={year}", headers=auth()), 422)


@pytest.mark.parametrize("day", ["2026-W01-1", "２０２６-01-01", "20260101", ""])
def test_finding10_dates_are_yyyy_mm_dd_only(client, auth, day):
    problem(client.get(f"/api/v1/worklist?due_before={day}", headers=auth()), 422)
    body = violation(determined_on=day)
    problem(client.post("/api/v1/violations", json=body, headers=auth()), 422)


# -- evidence-complete twice ------------------------------------------------------------------------

def test_finding10_evidence_complete_twice_is_409(client, auth, container):
    objection = _objection(client, auth)
    first = client.post(f"/api/v1/objections/{objection}/evidence-complete", json={"on": "2026-10-30"},
                        headers=auth("staff-jinan"))
    assert first.status_code == 200, first.json
    for day in ("2026-10-30", "2026-11-02"):
        problem(client.post(f"/api/v1/objections/{objection}/evidence-complete", json={"on": day},
                            headers=auth("staff-jinan")), 409, "evidence_already_complete")
    with container.session_factory() as session:
        assert session.get(ObjectionRow, objection).evidence_complete_on.isoformat() == "2026-10-30"
