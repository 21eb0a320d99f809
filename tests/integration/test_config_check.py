"""Issue 13 item 6: `credit-service config check` — every problem one line naming the variable, or the
file and key; `serve` runs the same checks before any worker starts."""
from __future__ import annotations

import shutil

from click.testing import CliRunner

from credit_service.cli import main as cli
from credit_service.settings import PROJECT_ROOT


def _config_dir(tmp_path):
    target = tmp_path / "config"
    shutil.copytree(PROJECT_ROOT / "config", target)
    return target


def test_a_good_configuration_passes(app, settings, monkeypatch):
    monkeypatch.setenv("CREDIT_SERVICE_DATABASE_URL", settings.database_url)
    result = CliRunner().invoke(cli, ["config", "check"])
    assert result.exit_code == 0, result.output
    assert "configuration ok" in result.output and "ok: database: reachable" in result.output


def test_every_problem_is_one_line_naming_the_variable_or_the_file_and_key(app, settings, monkeypatch, tmp_path):
    config = _config_dir(tmp_path)
    bad = config / "calendar" / "2027.toml"
    bad.write_text('year = 2027\nsource = "国务院办公厅通知"\n[[holiday]]\nname = "春节"\ndates = ["2027-02-06"]\n',
                   encoding="utf-8")
    monkeypatch.setenv("CREDIT_SERVICE_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("CREDIT_SERVICE_CONFIG_DIR", str(config))
    monkeypatch.setenv("CREDIT_SERVICE_RATE_LIMIT", "fast")
    monkeypatch.setenv("CREDIT_SERVICE_LOG_FORMAT", "jsno")
    monkeypatch.setenv("CREDIT_SERVICE_WEBHOOK_MAX_ATTEMPTS", "eight")
    result = CliRunner().invoke(cli, ["config", "check"])
    assert result.exit_code == 1
    problems = [line for line in result.output.splitlines() if not line.startswith("ok: ")]
    assert problems[-1] == "4 problem(s)", result.output
    assert "Traceback" not in result.output
    expected = ("CREDIT_SERVICE_WEBHOOK_MAX_ATTEMPTS='eight': ",
                "CREDIT_SERVICE_RATE_LIMIT='fast': rate limit 'fast': write RATE/BURST",
                "CREDIT_SERVICE_LOG_FORMAT='jsno': must be one of json, text",
                f"{bad}: key 'holiday[0].dates[0]': '2027-02-06' is not a date")
    for line, start in zip(problems, expected):
        assert line.startswith(start), result.output

    # serve: the same lines, and no worker is started
    monkeypatch.delenv("CREDIT_SERVICE_WEBHOOK_MAX_ATTEMPTS")
    monkeypatch.delenv("CREDIT_SERVICE_LOG_FORMAT")
    monkeypatch.delenv("CREDIT_SERVICE_RATE_LIMIT")
    served = CliRunner().invoke(cli, ["serve", "--port", "8713"])
    assert served.exit_code == 1 and served.output.strip() == problems[3], served.output
    # and every other command that builds the service says it in one line
    listed = CliRunner().invoke(cli, ["clients", "list"])
    assert listed.exit_code == 1 and listed.output.strip() == f"Error: {problems[3]}", listed.output


def test_a_database_behind_the_code_is_named(settings, monkeypatch, tmp_path):
    monkeypatch.setenv("CREDIT_SERVICE_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    result = CliRunner().invoke(cli, ["config", "check"])
    assert result.exit_code == 1
    assert "CREDIT_SERVICE_DATABASE_URL: the database is at revision none" in result.output
    assert "run `credit-service db upgrade`" in result.output
