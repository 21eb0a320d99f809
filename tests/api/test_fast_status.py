"""The hot path in front of Flask answers exactly as the Flask views do, and hands over the rest."""
from __future__ import annotations

from dataclasses import replace

import pytest

from credit_service import create_app
from tests.conftest import PERSON_ID
from tests.factories import id_number, violation, with_wrong_check_digit


@pytest.fixture
def flask_only(settings, clock, app):
    other = create_app(replace(settings, fast_status=False), clock=clock)
    yield other.test_client()
    other.extensions["credit_service"].index.stop()
    other.extensions["credit_service"].engine.dispose()


@pytest.fixture
def recorded(client, auth):
    numbers = {"suspended": id_number(), "listed": id_number(), "clean": id_number(), "recorded_only": id_number(),
               "other_clean": id_number()}
    client.post("/api/v1/violations", json=violation(id_number=numbers["recorded_only"], fund_loss="0.00",
                                                     occurred_on="2025-01-02", determined_on="2025-01-10"),
                headers=auth())
    client.post("/api/v1/violations", json=violation(id_number=numbers["suspended"]), headers=auth())
    client.post("/api/v1/violations", json=violation(id_number=numbers["listed"], handling="criminal", fraud=True,
                                                     fund_loss="300000.00"), headers=auth())
    client.post("/api/v1/violations", json=violation(id_number=PERSON_ID, fund_loss="20000.00",
                                                     determined_on="2026-11-20", occurred_on="2026-11-01"),
                headers=auth())
    numbers["doctor"] = id_number()  # suspended 2025-04-10 – 2025-06-10 (10 points), then terminated
    for points, day in ((10, "2025-04-10"), (2, "2025-08-01")):
        response = client.post("/api/v1/violations", headers=auth(), json=violation(
            id_number=numbers["doctor"], subject_type="physician", points=points, category="grave" if points > 9 else "minor",
            occurred_on=day, determined_on=day, handling="agreement"))
        assert response.status_code == 201, response.json
    client.post(f"/api/v1/subjects/physician/{numbers['recorded_only']}/expert-recommendations", headers=auth(),
                json={"year": 2025, "region": "370100", "reason": "表现突出"})
    return numbers


def _single_cases(numbers):
    cases = []
    for role in ("settlement", "staff-taian", "admin", "person", "reporter", None, "bogus"):
        for number in (*numbers.values(), PERSON_ID, with_wrong_check_digit(PERSON_ID), PERSON_ID.lower()[:17] + "x"):
            for query in ("", "?on=2025-05-01", "?on=2025-02-30", "?on=20250501", "?on=2025-05-01&x=1"):
                cases.append((role, f"/api/v1/subjects/insured/{number}/status{query}"))
    for role in ("settlement", "admin", "person"):
        for number in numbers.values():
            for query in ("?on=2025-05-01", "?on=2025-09-01", "?on=2025-05-01&emergency=true",
                          "?emergency=true&on=2025-05-01", "?on=2025-05-01&emergency=false", "?emergency=true",
                          "?emergency=maybe", "?on=2025-05-01&on=2025-05-02", "?emergency=true&emergency=false",
                          "?on=2025-05-01&emergency=true&x=1", "?on=2025-02-30&emergency=true", ""):
                cases.append((role, f"/api/v1/subjects/physician/{number}/status{query}"))
    cases.append(("settlement", f"/api/v1/subjects/doctor/{PERSON_ID}/status"))
    cases.append(("settlement", f"/api/v1/subjects/physician/{PERSON_ID}/status"))
    return cases


def _headers(auth, role):
    if role is None:
        return {}
    if role == "bogus":
        return {"Authorization": "Bearer not-a-token"}
    return auth(role)


def test_single_status_agrees_with_the_flask_view(client, flask_only, auth, recorded):
    for role, path in _single_cases(recorded):
        fast, slow = client.get(path, headers=_headers(auth, role)), flask_only.get(path, headers=_headers(auth, role))
        assert (fast.status_code, fast.mimetype, fast.json) == (slow.status_code, slow.mimetype, slow.json), (role, path)


BATCH_BODIES = [
    lambda n: {"on": "2025-05-01", "subjects": [{"subject_type": "insured", "id_number": x} for x in n.values()]},
    lambda n: {"subjects": [{"subject_type": "insured", "id_number": n["listed"]}]},
    lambda n: {"on": "2026-03-01", "subjects": [{"subject_type": t, "id_number": x} for x in n.values()
                                                for t in ("insured", "physician")] * 2},
    lambda n: {"on": "2025-05-01", "subjects": []},
    lambda n: {"on": "2025-02-30", "subjects": []},
    lambda n: {"on": "2025-05-01", "subjects": [{"subject_type": "insured", "id_number": with_wrong_check_digit(n["clean"])}]},
    lambda n: {"on": "2025-05-01", "subjects": [{"subject_type": "insured", "id_number": n["clean"], "extra": 1}]},
    lambda n: {"on": "2025-05-01", "subjects": [{"subject_type": "insured", "id_number": n["clean"]}] * 1001},
    lambda n: {"on": "2025-05-01", "subjects": [{"subject_type": t, "id_number": n["doctor"]}
                                                for t in ("physician", "pharmacist", "insured")]},
    lambda n: {"on": "2025-05-01", "emergency": True, "subjects": [{"subject_type": "physician", "id_number": n["doctor"]}]},
    lambda n: {"on": "2025-05-01", "subjects": [{"subject_type": "physician", "id_number": n["recorded_only"]}]},
    lambda n: {"on": "2025-05-01", "subjects": [],
               "claims": [{"insured": {"subject_type": "insured", "id_number": n["suspended"]},
                           "practitioners": [{"subject_type": "physician", "id_number": n["doctor"]}],
                           "emergency": e} for e in (False, True)]},
    lambda n: {"subjects": "x"},
    lambda n: ["not", "an", "object"],
]


@pytest.mark.parametrize("make_body", BATCH_BODIES)
@pytest.mark.parametrize("role", ["settlement", "admin", "staff-jinan", "person", None])
def test_batch_agrees_with_the_flask_view(client, flask_only, auth, recorded, make_body, role):
    body = make_body(recorded)
    fast = client.post("/api/v1/status/batch", json=body, headers=_headers(auth, role))
    slow = flask_only.post("/api/v1/status/batch", json=body, headers=_headers(auth, role))
    assert (fast.status_code, fast.json) == (slow.status_code, slow.json)


def test_the_fast_path_really_answers_without_flask(client, auth, recorded, app):
    def broken(*args, **kwargs):
        raise AssertionError("the Flask view should not be reached")

    app.view_functions["status.subject_status"] = broken
    app.view_functions["status.batch_status"] = broken
    response = client.get(f"/api/v1/subjects/insured/{recorded['suspended']}/status?on=2025-05-01",
                          headers=auth("settlement"))
    assert response.status_code == 200 and response.json["settlement_allowed"] is False
    response = client.post("/api/v1/status/batch", headers=auth("settlement"), json={
        "on": "2025-05-01", "subjects": [{"subject_type": "insured", "id_number": recorded["listed"]}]})
    assert response.status_code == 200 and response.json["results"][0]["listed"] is True
    response = client.get(f"/api/v1/subjects/physician/{recorded['doctor']}/status?on=2025-05-01&emergency=true",
                          headers=auth("settlement"))
    assert response.status_code == 200 and response.json["emergency_exempted"] is True


QUERY_BODIES = [  # POST /api/v1/status/query (issue 9, finding 9)
    lambda n: {"subject_type": "insured", "id_number": n["suspended"], "on": "2025-05-01"},
    lambda n: {"subject_type": "insured", "id_number": n["listed"]},
    lambda n: {"on": "2025-09-01", "id_number": n["suspended"], "subject_type": "insured"},
    lambda n: {"subject_type": "physician", "id_number": n["doctor"], "on": "2025-05-01", "emergency": True},
    lambda n: {"subject_type": "physician", "id_number": n["doctor"], "on": "2025-05-01", "emergency": False},
    lambda n: {"subject_type": "physician", "id_number": n["recorded_only"], "on": "2025-05-01"},
    lambda n: {"subject_type": "insured", "id_number": PERSON_ID},
    lambda n: {"subject_type": "insured", "id_number": n["clean"], "on": "2036-11-26"},
    lambda n: {"subject_type": "insured", "id_number": n["clean"], "on": "2036-11-27"},
    lambda n: {"subject_type": "insured", "id_number": n["clean"], "on": "1989-12-31"},
    lambda n: {"subject_type": "insured", "id_number": n["clean"], "on": "2025-02-30"},
    lambda n: {"subject_type": "insured", "id_number": n["clean"], "on": "20250501"},
    lambda n: {"subject_type": "insured", "id_number": n["clean"], "on": None},
    lambda n: {"subject_type": "insured", "id_number": n["clean"], "emergency": "true"},
    lambda n: {"subject_type": "insured", "id_number": n["clean"], "emergency": None},
    lambda n: {"subject_type": "insured", "id_number": n["clean"], "x": 1},
    lambda n: {"subject_type": "insured", "id_number": with_wrong_check_digit(n["clean"])},
    lambda n: {"subject_type": "insured", "id_number": " " + n["clean"]},
    lambda n: {"subject_type": "insured", "id_number": n["clean"][:17] + "x"},
    lambda n: {"subject_type": "doctor", "id_number": n["clean"]},
    lambda n: {"id_number": n["clean"]},
    lambda n: {"subject_type": "insured", "id_number": 370102199001011231},
    lambda n: [n["clean"]],
    lambda n: "text",
]


@pytest.mark.parametrize("make_body", QUERY_BODIES)
@pytest.mark.parametrize("role", ["settlement", "admin", "staff-jinan", "person", "reporter", None, "bogus"])
def test_finding_9_post_status_query_agrees_with_the_flask_view(client, flask_only, auth, recorded, make_body,
                                                                role):
    body = make_body(recorded)
    fast = client.post("/api/v1/status/query", json=body, headers=_headers(auth, role))
    slow = flask_only.post("/api/v1/status/query", json=body, headers=_headers(auth, role))
    assert slow.status_code != 404
    assert (fast.status_code, fast.mimetype, fast.json) == (slow.status_code, slow.mimetype, slow.json)


@pytest.mark.parametrize("path, body", [
    ("/api/v1/status/query", '{"subject_type": "insured", "id_number": "370102199001011231"}'),
    ("/api/v1/status/batch", '{"subjects": [{"subject_type": "insured", "id_number": "370102199001011231"}]}'),
])
@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None,
                                          "application/json; charset=utf-8"])
def test_only_a_json_body_is_answered_in_front_of_flask(client, flask_only, auth, path, body, content_type):
    headers = {**auth("settlement"), **({"Content-Type": content_type} if content_type else {})}
    fast, slow = client.post(path, data=body, headers=headers), flask_only.post(path, data=body, headers=headers)
    assert (fast.status_code, fast.json) == (slow.status_code, slow.json)
