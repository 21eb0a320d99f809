"""Issue 9, finding 13 (tokens): tokens that expire (`clients create --expires`), `clients list` (never a
token) and `clients revoke NAME-or-ID`. An expired token is 401 `token_expired` at once in every
process (checked against the clock on every request, the fast status path included); a revoked one 401
`invalid_token` once the process's change-feed poll has seen it. Today (the clock) is 2026-11-26."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from credit_service import create_app
from credit_service.adapters.orm import ApiClientRow
from credit_service.cli import main as cli
from credit_service.clock import SHANGHAI, FixedClock
from credit_service.container import build_container
from credit_service.domain.tokens import ExpiryError, parse_expiry
from credit_service.services.clients import create_client, hash_token
from tests.conftest import PERSON_ID, TODAY

MIDNIGHT = datetime(2026, 11, 27, tzinfo=SHANGHAI)  # the token's first refused instant
PROBLEM = "application/problem+json"


@pytest.fixture
def other_worker(settings):
    """A second app on the same database, with its own clock: another gunicorn worker or host."""
    app = create_app(settings, clock=FixedClock(TODAY))
    yield app
    app.extensions["credit_service"].index.stop()
    app.extensions["credit_service"].engine.dispose()


def calls(client, token: str) -> dict[str, object]:
    """The fast status path, the batch, and a Flask view, each with this token."""
    headers = {"Authorization": f"Bearer {token}"}
    return {
        "status": client.get(f"/api/v1/subjects/insured/{PERSON_ID}/status?on=2026-11-26", headers=headers),
        "batch": client.post("/api/v1/status/batch", headers=headers,
                             json={"subjects": [{"subject_type": "insured", "id_number": PERSON_ID}]}),
        "claims": client.post("/api/v1/claims/check", headers=headers,
                              json={"insured": {"subject_type": "insured", "id_number": PERSON_ID}}),
    }


def assert_refused(responses: dict, code: str) -> None:
    for name, response in responses.items():
        assert response.status_code == 401, (name, response.status_code)
        assert response.mimetype == PROBLEM and response.json["code"] == code, (name, response.json)


def test_finding13_an_expired_token_is_refused_at_once_in_every_process(app, client, container, other_worker):
    _, token = create_client(container.uow(), container.clock, "expiring", "settlement", expires_at=MIDNIGHT)
    other = other_worker.test_client()
    for c in (client, other):  # both processes have used it: it sits in both token caches
        assert {n: r.status_code for n, r in calls(c, token).items()} == {"status": 200, "batch": 200, "claims": 200}
    container.clock.current = other_worker.extensions["credit_service"].clock.current = date(2026, 11, 27)
    assert_refused(calls(client, token), "token_expired")
    assert_refused(calls(other, token), "token_expired")  # no feed entry, no poll: the clock says so


def test_finding13_the_last_moment_before_expiry_still_works(container):
    _, token = create_client(container.uow(), container.clock, "edge", "settlement",
                             expires_at=container.clock.now() + timedelta(seconds=1))
    assert container.tokens.principal_for(token) is not None  # FixedClock: each now() is 1 µs later
    container.clock.current = date(2026, 11, 27)
    assert container.tokens.principal_for(token) is None
    assert container.tokens.refusal(token) == "token_expired"
    assert container.tokens.refusal("never-issued") == "invalid_token"


def test_finding13_a_token_without_expiry_keeps_working(client, container):
    _, token = create_client(container.uow(), container.clock, "forever", "settlement")
    container.clock.current = date(2036, 11, 27)
    assert calls(client, token)["status"].status_code == 200


def test_finding13_a_revoked_token_is_invalid_in_every_process_after_its_poll(
        app, client, container, other_worker, settings, monkeypatch):
    _, token = create_client(container.uow(), container.clock, "to-revoke", "settlement", expires_at=MIDNIGHT)
    other = other_worker.test_client()
    assert calls(other, token)["status"].status_code == 200
    with container.session_factory() as session:
        client_id = session.scalar(select(ApiClientRow.id).where(ApiClientRow.name == "to-revoke"))
    monkeypatch.setenv("CREDIT_SERVICE_DATABASE_URL", settings.database_url)
    result = CliRunner().invoke(cli, ["clients", "revoke", client_id])  # by id
    assert result.exit_code == 0 and "revoked to-revoke" in result.output
    other_worker.extensions["credit_service"].index.poll_once()
    container.index.poll_once()
    assert_refused(calls(other, token), "invalid_token")
    assert_refused(calls(client, token), "invalid_token")


def test_finding13_cli_creates_expiring_tokens_and_lists_clients_without_tokens(settings, monkeypatch):
    monkeypatch.setenv("CREDIT_SERVICE_DATABASE_URL", settings.database_url)
    runner = CliRunner()
    dated = runner.invoke(cli, ["clients", "create", "--name", "his-a", "--role", "settlement",
                                "--expires", "2099-01-01"])
    assert dated.exit_code == 0, dated.output
    token = dated.stdout.strip().splitlines()[-1]
    for_90_days = runner.invoke(cli, ["clients", "create", "--name", "jinan", "--role", "staff", "--region", "370100",
                                      "--expires", "90d"])
    person = runner.invoke(cli, ["clients", "create", "--name", "zhang", "--role", "person",
                                 "--subject", f"insured:{PERSON_ID}"])
    assert for_90_days.exit_code == 0 and person.exit_code == 0
    assert runner.invoke(cli, ["clients", "revoke", "--name", "zhang"]).exit_code == 0

    listing = runner.invoke(cli, ["clients", "list"])
    assert listing.exit_code == 0, listing.output
    lines = {line.split()[0]: line for line in listing.output.splitlines()}
    assert lines["NAME"].split()[:7] == ["NAME", "ROLE", "REGION", "SUBJECT", "CREATED", "EXPIRES", "STATE"]
    assert "2099-01-01 00:00" in lines["his-a"] and "active" in lines["his-a"]
    assert "370100" in lines["jinan"] and "never" not in lines["jinan"]
    assert "never" in lines["zhang"] and "revoked" in lines["zhang"] and "insured:370102********1231" in lines["zhang"]
    assert token not in listing.output and hash_token(token) not in listing.output
    assert PERSON_ID not in listing.output


@pytest.mark.parametrize("value", ["2026-11-26", "2020-01-01", "0d", "90", "1m", "P90D", "2026-02-30", "-1d", ""])
def test_finding13_cli_refuses_an_expiry_it_cannot_read_or_in_the_past(settings, monkeypatch, value):
    monkeypatch.setenv("CREDIT_SERVICE_DATABASE_URL", settings.database_url)
    result = CliRunner().invoke(cli, ["clients", "create", "--name", "x", "--role", "settlement", "--expires", value])
    assert result.exit_code == 2 and "Invalid value for --expires" in result.output, result.output
    listing = CliRunner().invoke(cli, ["clients", "list"])
    assert " x " not in listing.output


def test_finding13_revoking_an_unknown_client_fails(settings, monkeypatch):
    monkeypatch.setenv("CREDIT_SERVICE_DATABASE_URL", settings.database_url)
    assert CliRunner().invoke(cli, ["clients", "revoke", "nobody"]).exit_code == 1
    assert CliRunner().invoke(cli, ["clients", "revoke"]).exit_code == 2


NOON = datetime(2026, 11, 26, 12, tzinfo=SHANGHAI)


@pytest.mark.parametrize("text, expected", [
    ("2026-11-27", datetime(2026, 11, 27, tzinfo=SHANGHAI)),
    ("1h", NOON + timedelta(hours=1)),
    ("36h", NOON + timedelta(hours=36)),
    ("90d", NOON + timedelta(days=90)),
    ("2w", NOON + timedelta(weeks=2)),
    (" 7d ", NOON + timedelta(days=7)),
])
def test_finding13_expiry_forms(text, expected):
    assert parse_expiry(text, NOON) == expected


@pytest.mark.parametrize("text", ["2026-11-26", "2026-11-25", "0h", "1m", "1y", "1.5d", "", "2026-13-01"])
def test_finding13_expiry_forms_refused(text):
    with pytest.raises(ExpiryError):
        parse_expiry(text, NOON)


def test_finding13_expiry_survives_a_fresh_process(settings, container):
    """Stored and read back (SQLite keeps the wall time without the zone; PostgreSQL the instant)."""
    _, token = create_client(container.uow(), container.clock, "stored", "settlement", expires_at=MIDNIGHT)
    fresh = build_container(settings, FixedClock(TODAY))
    try:
        principal = fresh.tokens.principal_for(token)
        assert principal is not None and principal.expires_at == MIDNIGHT
        fresh.clock.current = date(2026, 11, 27)
        assert fresh.tokens.principal_for(token) is None
    finally:
        fresh.index.stop()
        fresh.engine.dispose()
