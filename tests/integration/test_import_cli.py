"""`credit-service import FILE` (issue 13, item 6): the API's bulk import from the command line — the same
formats, use case and access, progress on stderr, a summary with the rejected rows' numbers and reasons,
and a non-zero exit status when a row was rejected or the file cannot be read."""
from __future__ import annotations

import json
import logging

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from credit_service import cli as cli_module
from credit_service import progress as progress_module
from credit_service.adapters.orm import AuditEventRow, SubjectChangeRow, ViolationRow
from credit_service.cli import main as cli
from credit_service.container import build_container
from credit_service.services.audit import verify
from tests.factories import id_number, violation, with_wrong_check_digit

HEADER = "source,source_ref,subject_type,id_number,name,region,occurred_on,determined_on,fund_loss,handling,fraud,points,description"


def csv_line(source: str, ref: str, number: str, fund_loss: str = "150000.00", determined_on: str = "2025-04-10",
             region: str = "370100") -> str:
    return (f"{source},{ref},insured,{number},张三,{region},2025-03-02,{determined_on},{fund_loss},"
            "administrative,false,,虚构医疗服务")


def a_file(source: str, people: list[str], recorded_before: str) -> str:
    """Good rows (one person twice: they aggregate), a row recorded before (through the API), a row
    repeated in the file, a wrong check digit, a bad amount, a region outside the province's code shape."""
    a, b, c = people
    return "\n".join([
        HEADER,
        csv_line(source, "R-1", a, fund_loss="60000.00", determined_on="2025-04-10"),
        csv_line(source, "R-2", b),
        csv_line(source, "R-0", recorded_before),                      # recorded before: duplicate
        csv_line(source, "R-3", a, fund_loss="60000.00", determined_on="2025-05-10"),
        csv_line(source, "R-2", b),                                    # the same row again: duplicate
        csv_line(source, "R-4", with_wrong_check_digit(c)),            # rejected: check digit
        csv_line(source, "R-5", c, fund_loss="abc"),                   # rejected: amount
        csv_line(source, "R-6", c, region="3701"),                     # rejected: region
    ]) + "\n"


@pytest.fixture
def run_cli(settings, clock, monkeypatch):
    """The command as an operator runs it: settings from the environment, the tests' fixed day."""
    monkeypatch.setenv("CREDIT_SERVICE_DATABASE_URL", settings.database_url)
    built = []

    def container():
        c = build_container(cli_module._settings(), clock)
        built.append(c)
        return c
    monkeypatch.setattr(cli_module, "_container", container)

    def run(*args):
        return CliRunner().invoke(cli, list(args))
    yield run
    for c in built:
        c.index.stop()
        c.engine.dispose()


def count(container, model) -> int:
    with container.session_factory() as session:
        return session.scalar(select(func.count()).select_from(model))


def record_before(client, auth, source: str, number: str) -> None:
    body = violation(id_number=number, source=source, source_ref="R-0")
    assert client.post("/api/v1/violations", json=body, headers=auth()).status_code == 201


def test_a_csv_with_good_duplicate_and_bad_rows(run_cli, client, auth, container, tmp_path):
    people, earlier = [id_number() for _ in range(3)], id_number()
    record_before(client, auth, "cli-test", earlier)
    path = tmp_path / "violations.csv"
    path.write_text(a_file("cli-test", people, earlier), encoding="utf-8")

    result = run_cli("import", str(path))

    assert result.exit_code == 3, result.output  # some rows rejected, the others recorded
    lines = result.stdout.splitlines()
    assert lines[0] == f"{path}: 8 rows: 3 created, 2 duplicate (recorded before), 3 rejected"
    assert lines[1].startswith("  row 6 (source_ref R-4) rejected: 身份证号码校验码不正确（GB 11643）。 [invalid_id_number]")
    assert lines[2].startswith("  row 7 (source_ref R-5) rejected: ") and "fund_loss" in lines[2]
    assert lines[3].startswith("  row 8 (source_ref R-6) rejected: ") and "region" in lines[3]
    assert len(lines) == 4
    assert count(container, ViolationRow) == 4  # the one recorded before and the three created
    with container.session_factory() as session:
        actors = session.scalars(select(AuditEventRow.actor).where(AuditEventRow.action == "violation_recorded")
                                 .order_by(AuditEventRow.seq)).all()
        assert actors[1:] == [f"cli:{cli_module._cli_user()}"] * 3  # the operator, as other commands
        assert verify(session)[1] == []
    assert count(container, SubjectChangeRow) >= 3  # the change feed brings them to every node

    again = run_cli("import", str(path))  # running it again records nothing new
    assert again.exit_code == 3
    assert again.stdout.splitlines()[0] == f"{path}: 8 rows: 0 created, 5 duplicate (recorded before), 3 rejected"
    assert count(container, ViolationRow) == 4


def _comparable(result: dict, source: str) -> dict:
    """The answer without what differs by nature between two imports: ids and the source's name."""
    text = json.dumps(result, ensure_ascii=False).replace(source, "SOURCE")
    data = json.loads(text)
    for row in data["results"]:
        row.pop("violation_id", None)
        for m in row.get("measures", []):
            m.pop("id")
    return data


def test_the_result_equals_the_api_import_of_the_same_file(run_cli, client, auth, tmp_path):
    # Two doors, two sets of people (so that neither import aggregates with the other's rows).
    api_people, api_earlier = [id_number(birth="19800101") for _ in range(3)], id_number(birth="19800101")
    cli_people, cli_earlier = [id_number(birth="19700101") for _ in range(3)], id_number(birth="19700101")
    record_before(client, auth, "door-api", api_earlier)
    record_before(client, auth, "door-cli", cli_earlier)

    api_file = a_file("door-api", api_people, api_earlier)
    api = client.post("/api/v1/violations/import", data=api_file.encode(), content_type="text/csv", headers=auth())
    assert api.status_code == 200

    path, out = tmp_path / "violations.csv", tmp_path / "result.json"
    path.write_text(a_file("door-cli", cli_people, cli_earlier), encoding="utf-8")
    result = run_cli("import", str(path), "--batch", "3", "--json", str(out))  # batches: the same answer
    assert result.exit_code == 3, result.output
    from_cli = json.loads(out.read_text(encoding="utf-8"))

    assert [r["status"] for r in from_cli["results"]] == ["created", "created", "duplicate", "created", "duplicate",
                                                          "rejected", "rejected", "rejected"]
    assert [m["months"] for m in from_cli["results"][3]["measures"]] == [3]  # aggregated with row 1 (batch 1)
    assert _comparable(from_cli, "door-cli") == _comparable(api.json, "door-api")


def test_json_files_and_the_json_answer_on_standard_output(run_cli, tmp_path):
    rows = [violation(), violation(fund_loss="x")]
    path = tmp_path / "rows.json"
    path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    result = run_cli("import", str(path), "--json", "-")
    assert result.exit_code == 3
    answer = json.loads(result.stdout)  # nothing else on standard output
    assert answer["summary"] == {"total": 2, "created": 1, "duplicate": 0, "rejected": 1}
    assert f"{path}: 2 rows: 1 created" in result.stderr
    everything_fine = tmp_path / "one.json"
    everything_fine.write_text(json.dumps([violation()]), encoding="utf-8")
    assert run_cli("import", str(everything_fine)).exit_code == 0


def test_progress_is_shown_on_stderr_for_a_long_file(run_cli, tmp_path, monkeypatch):
    now = [1000.0]

    def monotonic():  # every look at the clock is three seconds later: a long file, quickly
        now[0] += 3.0
        return now[0]
    monkeypatch.setattr(progress_module.time, "monotonic", monotonic)
    path = tmp_path / "violations.csv"
    path.write_text("\n".join([HEADER] + [csv_line("long-file", f"L-{i}", id_number()) for i in range(5)]) + "\n",
                    encoding="utf-8")
    result = run_cli("import", str(path), "--batch", "2")
    assert result.exit_code == 0, result.output
    progress = [line for line in result.stderr.splitlines() if line.startswith("import: ")]
    assert progress[0].startswith("import: 2 / 5 rows (40 %), ")
    assert progress[-1].startswith("import: 5 / 5 rows (100 %), ") and progress[-1].endswith("— done")
    assert result.stdout.splitlines()[0] == f"{path}: 5 rows: 5 created, 0 duplicate (recorded before), 0 rejected"


def test_no_identity_number_in_the_output_or_the_logs(run_cli, client, auth, tmp_path, caplog):
    people, earlier = [id_number() for _ in range(3)], id_number()
    record_before(client, auth, "masked", earlier)
    text = a_file("masked", people, earlier)
    path = tmp_path / "violations.csv"
    path.write_text(text, encoding="utf-8")
    with caplog.at_level(logging.DEBUG):
        result = run_cli("import", str(path), "--json", str(tmp_path / "result.json"))
    assert result.exit_code == 3
    assert "import by cli:" in caplog.text  # the command logs its summary, as the API does
    written = result.stdout + result.stderr + caplog.text + (tmp_path / "result.json").read_text(encoding="utf-8")
    for number in [*people, earlier, with_wrong_check_digit(people[2])]:
        assert number not in written and number[:17] not in written


def test_an_unreadable_file_imports_nothing_and_exits_1(run_cli, container, tmp_path):
    missing = run_cli("import", str(tmp_path / "nowhere.csv"))
    assert missing.exit_code == 1 and "cannot read" in missing.output
    bad_header = tmp_path / "bad.csv"
    bad_header.write_text("source,source_ref\nx,y\n", encoding="utf-8")
    result = run_cli("import", str(bad_header))
    assert result.exit_code == 1
    assert "is not a readable CSV import file: CSV表头缺少列" in result.output
    not_json = tmp_path / "bad.json"
    not_json.write_text("[{", encoding="utf-8")
    assert run_cli("import", str(not_json)).exit_code == 1
    assert count(container, ViolationRow) == 0


def test_the_collector_is_paused_batch_by_batch(run_cli, tmp_path, monkeypatch):
    """A long file in many batches: paused while a batch is judged and recorded, running between batches
    (a million rows' garbage is not kept until the end)."""
    import gc
    from credit_service.services import intake
    during, between = [], []
    record = intake.record_violations

    def spy(*args, **kwargs):
        during.append(gc.isenabled())
        return record(*args, **kwargs)
    monkeypatch.setattr(intake, "record_violations", spy)
    monkeypatch.setattr(progress_module.Progress, "__call__", lambda self, done: between.append(gc.isenabled()))
    path = tmp_path / "violations.csv"
    path.write_text("\n".join([HEADER] + [csv_line("gc", f"G-{i}", id_number()) for i in range(5)]) + "\n",
                    encoding="utf-8")
    assert run_cli("import", str(path), "--batch", "2").exit_code == 0
    assert during == [False, False, False] and between == [True, True, True] and gc.isenabled()
