"""GET /api/v1/lists/joint-punishment and `credit-service lists joint-punishment` (API.md v1.1): the
joint-punishment list (失信联合惩戒对象名单, 第八条第四项、第九条第五项) for the public credit platform."""
from __future__ import annotations

import csv
import io
import json

import pytest

from tests.factories import id_number, violation

pytestmark = pytest.mark.article("第九条第五项")


def post(client, auth, body):
    response = client.post("/api/v1/violations", json=body, headers=auth())
    assert response.status_code == 201, response.json
    return response.json


def listed(client, auth, number, region="370100", determined_on="2026-10-09", subject_type="insured"):
    extra = {"points": None} if subject_type == "insured" else {}
    return post(client, auth, violation(id_number=number, region=region, handling="criminal", fraud=True,
                                        occurred_on="2026-09-01", determined_on=determined_on,
                                        subject_type=subject_type, **extra))


def masked(number: str) -> str:
    return number[:6] + "********" + number[14:]


def test_admin_gets_whole_numbers_and_names_staff_their_region_masked(client, auth):
    jinan, taian = id_number(), id_number()
    listed(client, auth, jinan)
    listed(client, auth, taian, region="370900")
    post(client, auth, violation(id_number=id_number()))  # a suspension, not a listing
    admin = client.get("/api/v1/lists/joint-punishment", headers=auth()).json
    assert [(e["id_number"], e["name"], e["region"], e["article"], e["listed_on"]) for e in admin["listed"]] == [
        (jinan, "张三", "370100", "第九条第五项", "2026-10-09"), (taian, "张三", "370900", "第九条第五项", "2026-10-09")]
    assert admin["full_numbers"] is True and "鲁医保发〔2024〕25号" in admin["listed"][0]["basis"]
    staff = client.get("/api/v1/lists/joint-punishment", headers=auth("staff-jinan")).json
    assert (staff["region"], staff["full_numbers"]) == ("370100", False)
    assert [(e["id_number"], e["name"]) for e in staff["listed"]] == [(masked(jinan), "张*")]
    other = client.get("/api/v1/lists/joint-punishment?region=370900", headers=auth("staff-jinan"))
    assert (other.status_code, other.json["code"]) == (403, "region_not_allowed")
    for who in ("settlement", "reporter", "person"):
        assert client.get("/api/v1/lists/joint-punishment", headers=auth(who)).status_code == 403


@pytest.mark.article("第十条")
def test_additions_and_removals_since_a_date(client, auth, clock):
    early, late, removed = id_number(), id_number(), id_number()
    listed(client, auth, early, determined_on="2026-09-01")
    listed(client, auth, late, determined_on="2026-11-02")
    measure = next(m for m in listed(client, auth, removed, determined_on="2026-09-10")["measures"]
                   if m["kind"] == "joint_punishment_listing")
    objection = client.post("/api/v1/objections", json={"measure_id": measure["id"], "filed_on": "2026-09-15",
                                                         "reason": "并非欺诈"}, headers=auth()).json
    assert client.post(f"/api/v1/objections/{objection['id']}/decision", headers=auth(), json={
        "outcome": "upheld", "decided_on": "2026-11-05", "reason": "异议成立"}).status_code == 200
    body = client.get("/api/v1/lists/joint-punishment?since=2026-11-01", headers=auth()).json
    # everything here was recorded "today" (2026-11-26): a platform syncing since 11-01 must receive all of it
    assert {e["id_number"] for e in body["additions"]} == {early, late, removed}
    assert [(e["id_number"], e["removed_on"]) for e in body["removals"]] == [(removed, "2026-11-05")]
    assert body["listed"] == []
    clock.current = clock.current.replace(day=27)
    later = client.get("/api/v1/lists/joint-punishment?since=2026-11-27", headers=auth()).json
    assert (later["additions"], later["removals"]) == ([], [])
    now = client.get("/api/v1/lists/joint-punishment", headers=auth()).json
    assert {e["id_number"] for e in now["listed"]} == {early, late}


def test_csv_export_and_bad_parameters(client, auth):
    number = id_number()
    listed(client, auth, number)
    response = client.get("/api/v1/lists/joint-punishment?since=2026-10-01", headers={**auth(), "Accept": "text/csv"})
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    assert [(r["change"], r["id_number"], r["listed_on"], r["article"]) for r in rows] == [
        ("added", number, "2026-10-09", "第九条第五项")]
    for query, field in (("since=2026-13-01", "since"), ("since=2026-12-01", "since"), ("format=xml", "format"),
                         ("region=37010x", "region")):
        bad = client.get(f"/api/v1/lists/joint-punishment?{query}", headers=auth())
        assert bad.status_code == 422 and field in bad.json["errors"], query


@pytest.mark.article("第八条第四项")
def test_a_practitioners_criminal_fraud_is_listed_under_art8_item4(client, auth):
    doctor = id_number()
    listed(client, auth, doctor, subject_type="physician")
    (entry,) = client.get("/api/v1/lists/joint-punishment", headers=auth()).json["listed"]
    assert (entry["subject_type"], entry["article"]) == ("physician", "第八条第四项")


def test_the_cli_exports_the_list_as_admin(client, auth, settings, monkeypatch, tmp_path):
    from click.testing import CliRunner
    from credit_service.cli import main
    number = id_number()
    listed(client, auth, number)
    monkeypatch.setenv("CREDIT_SERVICE_DATABASE_URL", settings.database_url)
    out = tmp_path / "list.json"
    result = CliRunner().invoke(main, ["lists", "joint-punishment", "--since", "2026-10-01", "--output", str(out)])
    assert result.exit_code == 0, result.output
    body = json.loads(out.read_text(encoding="utf-8"))
    assert [e["id_number"] for e in body["additions"]] == [number] and body["full_numbers"] is True
    result = CliRunner().invoke(main, ["lists", "joint-punishment", "--format", "csv"])
    assert result.exit_code == 0 and number in result.output and "listed" in result.output
