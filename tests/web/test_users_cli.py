"""`credit-service users create | list | disable | totp` (API.md § Console contract)."""
from __future__ import annotations

import re

import pyotp
import pytest
from click.testing import CliRunner

from credit_service.cli import main as cli
from credit_service.services import staff_accounts
from tests.web.support import PASSWORD, sign_in


@pytest.fixture
def run(settings, monkeypatch, tmp_path):
    monkeypatch.setenv("CREDIT_SERVICE_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("CREDIT_SERVICE_DATA_DIR", str(tmp_path))  # the generated secret key goes here

    def invoke(*args, stdin=None):
        return CliRunner().invoke(cli, list(args), input=stdin)
    return invoke


def test_create_with_a_password_from_stdin_prints_no_password(run, web_app):
    result = run("users", "create", "--username", "li", "--role", "staff", "--region", "370100",
                 "--name", "李经办", "--password-stdin", stdin=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output and "password" not in result.output
    assert sign_in(web_app.test_client(), "li").status_code == 303


def test_create_without_a_password_prints_a_generated_one_once(run, web_app):
    result = run("users", "create", "--username", "wang", "--role", "admin")
    assert result.exit_code == 0, result.output
    password = re.search(r"password \(shown once\): (\S+)", result.output).group(1)
    assert len(password) >= 16
    assert sign_in(web_app.test_client(), "wang", password).status_code == 303
    listed = run("users", "list").output
    assert "wang\tadmin" in listed and password not in listed


def test_staff_needs_a_region_and_a_long_enough_password(run):
    assert run("users", "create", "--username", "x", "--role", "staff").exit_code != 0
    short = run("users", "create", "--username", "y", "--role", "admin", "--password-stdin", stdin="short\n")
    assert short.exit_code != 0 and "12" in short.output


def test_disable_ends_the_open_session(run, web_app):
    run("users", "create", "--username", "li", "--role", "staff", "--region", "370100", "--password-stdin",
        stdin=PASSWORD + "\n")
    browser = web_app.test_client()
    sign_in(browser, "li")
    assert browser.get("/console/worklist").status_code == 200
    result = run("users", "disable", "li")
    assert result.exit_code == 0 and "1 open session(s) ended" in result.output
    assert browser.get("/console/worklist").status_code == 303
    assert "disabled" in run("users", "list").output


def test_totp_enrolment_prints_the_otpauth_uri(run, web_app, moving_clock):
    c = web_app.extensions["credit_service"]
    staff_accounts.create_user(c.uow(), c.clock, "li", "staff", "370100", PASSWORD)
    result = run("users", "totp", "li")
    assert result.exit_code == 0 and result.output.startswith("otpauth://totp/")
    totp = pyotp.parse_uri(result.output.strip())
    assert sign_in(web_app.test_client(), "li", otp=totp.at(moving_clock.now())).status_code == 303
    assert "totp" in run("users", "list").output
    assert run("users", "totp", "nobody").exit_code != 0
