"""Evidence files through the API (issue 12; 第十条, 第十一条): multipart uploads to an open objection or
repair, checked by content, ≤ 10 MB each, ≤ 20 per filing, stored with a SHA-256; listed and downloaded
by the person and by the deciding region's staff only."""
from __future__ import annotations

import hashlib
import io

import pytest

from tests.api.test_procedure_api import problem_of, record
from tests.conftest import PERSON_ID
from tests.factories import id_number

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def _upload(client, headers, path, *files):
    return client.post(path, data={"evidence": [(io.BytesIO(data), name) for data, name in files]},
                       content_type="multipart/form-data", headers=headers)


@pytest.fixture
def objection(client, auth):
    """The person's own objection, filed online through the API (measure decided in 370100)."""
    measure = record(client, auth, PERSON_ID)[0]["id"]
    response = client.post("/api/v1/objections", json={"measure_id": measure, "reason": "金额有误"},
                           headers=auth("person"))
    assert response.status_code == 201, response.json
    return response.json["id"]


@pytest.mark.article("第十条")
def test_person_adds_evidence_to_their_objection_and_the_deciding_region_reads_it(client, auth, objection):
    response = _upload(client, auth("person"), f"/api/v1/objections/{objection}/evidence", (PDF, "发票.pdf"),
                       (PNG, "photo.PNG"))
    assert response.status_code == 201, response.json
    files = response.json["files"]
    assert [(f["filename"], f["content_type"], f["size"]) for f in files] == [
        ("发票.pdf", "application/pdf", len(PDF)), ("photo.png", "image/png", len(PNG))]
    assert files[0]["sha256"] == hashlib.sha256(PDF).hexdigest()
    listed = client.get(f"/api/v1/objections/{objection}/evidence", headers=auth("staff-jinan"))
    assert listed.status_code == 200 and {f["id"] for f in listed.json["files"]} == {f["id"] for f in files}
    for who in ("person", "staff-jinan", "admin"):
        got = client.get(files[0]["href"], headers=auth(who))
        assert got.status_code == 200 and got.data == PDF and got.mimetype == "application/pdf", who
        assert got.headers["X-Content-SHA256"] == files[0]["sha256"] and "attachment" in got.headers["Content-Disposition"]


def test_staff_of_another_region_and_other_clients_cannot_read_the_files(client, auth, objection):
    file_id = _upload(client, auth("person"), f"/api/v1/objections/{objection}/evidence",
                      (PDF, "a.pdf")).json["files"][0]["id"]
    problem_of(client.get(f"/api/v1/evidence/{file_id}", headers=auth("staff-taian")), 403, "region_not_allowed")
    problem_of(client.get(f"/api/v1/objections/{objection}/evidence", headers=auth("staff-taian")), 403,
               "region_not_allowed")
    problem_of(client.get(f"/api/v1/evidence/{file_id}", headers=auth("settlement")), 403, "role_not_allowed")
    problem_of(_upload(client, auth("staff-taian"), f"/api/v1/objections/{objection}/evidence", (PDF, "x.pdf")),
               403, "region_not_allowed")
    problem_of(client.get("/api/v1/evidence/0123456789abcdef0123456789abcdef", headers=auth()), 404,
               "evidence_not_found")


def test_a_person_cannot_reach_another_subjects_filing_or_file(client, auth):
    other = record(client, auth, id_number())[0]["id"]
    theirs = client.post("/api/v1/objections", json={"measure_id": other, "filed_on": "2026-11-20",
                                                     "reason": "x"}, headers=auth("staff-jinan")).json["id"]
    file_id = _upload(client, auth("staff-jinan"), f"/api/v1/objections/{theirs}/evidence",
                      (PDF, "a.pdf")).json["files"][0]["id"]
    problem_of(client.get(f"/api/v1/evidence/{file_id}", headers=auth("person")), 403, "not_own_subject")
    problem_of(client.get(f"/api/v1/objections/{theirs}/evidence", headers=auth("person")), 403, "not_own_subject")
    problem_of(_upload(client, auth("person"), f"/api/v1/objections/{theirs}/evidence", (PDF, "a.pdf")), 403,
               "not_own_subject")


def test_content_that_is_not_pdf_jpeg_or_png_is_422_whatever_its_name(client, auth, objection):
    for data, name in ((b"<html>hi</html>", "证明.pdf"), (b"GIF89a....", "x.png"), (b"PK\x03\x04docx", "a.jpg"),
                       (b"", "empty.pdf")):
        problem_of(_upload(client, auth("person"), f"/api/v1/objections/{objection}/evidence", (data, name)),
                   422, "evidence_type_not_allowed")
    assert client.get(f"/api/v1/objections/{objection}/evidence", headers=auth()).json["files"] == []


def test_an_11_mb_file_is_413_and_nothing_is_stored(client, auth, objection):
    big = PDF + b"0" * (11 * 1024 * 1024)
    problem_of(_upload(client, auth("person"), f"/api/v1/objections/{objection}/evidence", (PNG, "ok.png"),
                       (big, "big.pdf")), 413, "evidence_too_large")
    assert client.get(f"/api/v1/objections/{objection}/evidence", headers=auth()).json["files"] == []


def test_at_most_20_files_per_filing_across_requests(client, auth, objection):
    path = f"/api/v1/objections/{objection}/evidence"
    assert _upload(client, auth("person"), path, *[(PNG, f"{i}.png") for i in range(15)]).status_code == 201
    problem_of(_upload(client, auth("person"), path, *[(PNG, f"{i}.png") for i in range(6)]), 422,
               "too_many_evidence_files")
    assert _upload(client, auth("person"), path, *[(PNG, f"{i}.png") for i in range(5)]).status_code == 201


def test_json_is_415_and_a_decided_objection_takes_no_more_evidence(client, auth, objection):
    problem_of(client.post(f"/api/v1/objections/{objection}/evidence", json={"evidence": []}, headers=auth("person")),
               415, "unsupported_media_type")
    decided = client.post(f"/api/v1/objections/{objection}/decision", headers=auth("staff-jinan"),
                          json={"outcome": "rejected", "decided_on": "2026-11-26", "reason": "维持"})
    assert decided.status_code == 200, decided.json
    problem_of(_upload(client, auth("person"), f"/api/v1/objections/{objection}/evidence", (PDF, "a.pdf")), 409,
               "objection_closed")


@pytest.mark.article("第十一条")
def test_repair_evidence(client, auth):
    measure = record(client, auth, PERSON_ID)[0]["id"]
    repair = client.post("/api/v1/repairs", headers=auth("person"), json={
        "subject_type": "insured", "id_number": PERSON_ID, "measure_id": measure, "corrected": True,
        "adverse_effects_removed": True, "commitment": True}).json["id"]
    added = _upload(client, auth("person"), f"/api/v1/repairs/{repair}/evidence", (PDF, "退款.pdf"))
    assert added.status_code == 201 and added.json["files"][0]["case"] == "repair"
    assert len(client.get(f"/api/v1/repairs/{repair}/evidence", headers=auth("staff-jinan")).json["files"]) == 1
