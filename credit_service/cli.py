"""`credit-service`: db upgrade, clients, users, keys, audit, jobs and serve."""
from __future__ import annotations

import sys
from datetime import date

import click

from .services.access import CONSOLE_ROLES, ROLES
from .settings import Settings


def _settings() -> Settings:
    """The settings, or one line naming what is wrong (exit 1)."""
    try:
        return Settings.from_env()
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None


def _container():
    from .adapters.key_check import KeyMismatch
    from .container import build_container
    settings = _settings()
    try:
        return build_container(settings)
    except (KeyMismatch, ValueError) as exc:  # keys, rule or calendar files: one line naming the culprit
        raise click.ClickException(" ".join(str(exc).split())) from None


@click.group()
def main() -> None:
    """山东医保信用管理服务 (credit-service)."""
    from .logging_setup import configure_logging
    configure_logging()  # the job runner and one-off commands log like the web processes (JSON)


def _cli_user() -> str:
    import getpass
    try:
        return getpass.getuser()
    except Exception:  # no user name in some containers
        return "unknown"


def _cli_actor():
    """The audit trail's actor for what a command changes: the operator at the command line."""
    from .services.audit import Actor
    return Actor(f"cli:{_cli_user()}", "operator")


@main.group()
def audit() -> None:
    """The hash-chained audit trail."""


@audit.command("verify")
def audit_verify() -> None:
    """Walk the whole chain; exit 1 naming each broken event (edited, deleted or inserted rows, a MAC
    that does not fit, an anchored head the chain no longer holds)."""
    from sqlalchemy import func, select

    from .adapters.orm import AuditEventRow
    from .progress import Progress
    from .services.audit import read_anchors, verify
    c = _container()
    path = c.settings.audit_anchor_file
    anchors = read_anchors(path)
    with c.session_factory() as session:
        progress = Progress("audit verify", session.scalar(select(func.count()).select_from(AuditEventRow)), "events")
        checked, problems = verify(session, keys=c.audit_keys, anchors=anchors, progress=progress)
        progress(checked)
        progress.finish()
    for problem in problems[:_SHOWN]:
        click.echo(f"seq {problem.seq}: {problem.problem}", err=True)
    if len(problems) > _SHOWN:
        click.echo(f"… and {len(problems) - _SHOWN} more", err=True)
    if problems:
        click.echo(f"audit trail BROKEN: {len(problems)} problem(s) in {checked} events", err=True)
        sys.exit(1)
    where = f"{len(anchors)} anchor(s) in {path} hold" if anchors else f"no anchors yet ({path} is empty or absent)"
    click.echo(f"audit trail intact: {checked} events, every MAC fits; {where}")


_SHOWN = 200


@audit.command("anchor")
def audit_anchor() -> None:
    """Append the signed head of the chain (seq, hash, MAC, time) to CREDIT_SERVICE_AUDIT_ANCHOR_FILE.

    Events after the last anchor are checked first; a head that does not verify is not signed (exit 1).
    The job `audit_anchor` does the same every CREDIT_SERVICE_AUDIT_ANCHOR_INTERVAL_SECONDS."""
    from .services.audit import AnchorRefused, anchor
    c = _container()
    try:
        with c.session_factory() as session:
            record = anchor(session, c.settings.audit_anchor_file, c.clock.now(), keys=c.audit_keys)
    except AnchorRefused as exc:
        raise click.ClickException(str(exc)) from None
    if record is None:
        click.echo(f"nothing new to anchor ({c.settings.audit_anchor_file})")
    else:
        click.echo(f"anchored seq {record['seq']} in {c.settings.audit_anchor_file}")


@main.group()
def keys() -> None:
    """Keys of the identity numbers at rest (CREDIT_SERVICE_PII_HMAC_KEYS, CREDIT_SERVICE_PII_ENCRYPTION_KEYS)."""


@keys.command("generate")
@click.option("--id", "key_id", required=True, help="key id, 1–8 characters a-z0-9 (e.g. k2)")
def keys_generate(key_id: str) -> None:
    """Print a new random 256-bit key as ID:BASE64, to put first in a key variable."""
    from .adapters.pii import KeyConfigError, new_key_text, parse_keys
    line = new_key_text(key_id)
    try:
        parse_keys(line, "--id")
    except KeyConfigError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(line)


@keys.command("rotate")
@click.option("--batch", default=2000, show_default=True, type=int, help="subjects per transaction")
def keys_rotate(batch: int) -> None:
    """Move every stored identity to the current (first) keys; safe to run again after a crash.

    Run it with the service stopped, after putting the new keys first in the variables (keep the old
    ones after them); then start the service. See docs/personal-data.md."""
    from .progress import Progress
    from .services.key_rotation import key_versions, rotate
    c = _container()
    versions = key_versions(c.uow())
    todo = sum(n for name, n in versions.items()
               if (name.startswith("lookup ") and name != f"lookup {c.keys.hmac_id}")
               or (name.startswith("sealed ") and name != f"sealed {c.keys.encryption_id}"))
    progress = Progress("keys rotate", todo or None, "subjects")
    summary = rotate(c.uow, c.keys, c.clock.now(), batch=batch, progress=progress)
    progress.finish()
    click.echo(f"keys rotated: {summary}")


@keys.command("status")
def keys_status() -> None:
    """How many subjects use each key id (a rotation is complete when only the current ones remain)."""
    from .services.key_rotation import key_versions
    c = _container()
    click.echo(f"current keys: lookup {c.keys.hmac_id}, sealed {c.keys.encryption_id}")
    for name, count in sorted(key_versions(c.uow()).items()):
        click.echo(f"{name}: {count}")


@main.group()
def webhooks() -> None:
    """Change push (docs/webhooks.md)."""


@webhooks.command("scope")
@click.argument("webhook_id")
@click.option("--region", "regions", multiple=True, required=True, help="6-digit pooling region (repeat)")
@click.option("--subject-type", "subject_types", multiple=True,
              type=click.Choice(["insured", "physician", "pharmacist"]), help="only these types (repeat)")
def webhooks_scope(webhook_id: str, regions: tuple[str, ...], subject_types: tuple[str, ...]) -> None:
    """Give a webhook a scope and activate it (a webhook registered before scopes was deactivated by the
    upgrade; it carries on from where it stopped, so the changes made meanwhile are delivered too)."""
    from .services.errors import ServiceError
    from .services.webhooks import set_scope
    scope: dict = {"regions": list(regions)}
    if subject_types:
        scope["subject_types"] = list(subject_types)
    c = _container()
    try:
        body = set_scope(c.uow(), webhook_id, scope)
    except ServiceError as exc:
        raise click.ClickException(exc.detail) from None
    click.echo(f"webhook {body['id']} active, scope {body['scope']}")


@main.command("backup")
@click.option("--to", "target", required=True, type=click.Path(file_okay=False), help="directory to put the backup in")
def backup_command(target: str) -> None:
    """Back up the embedded SQLite database while the service runs (SQLite's online backup), with the keys
    and the audit anchors, into a new directory under --to. PostgreSQL: docs/deployment.md "Backups"."""
    from pathlib import Path

    from .backup import BackupError, backup
    from .progress import Progress
    settings = _settings()
    progress = Progress("backup", None, "pages")
    try:
        made = backup(settings, Path(target), progress=lambda done, total: progress(done))
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    progress.finish()
    click.echo(f"backup written to {made} (it holds the keys: keep it as safe as them)")


@main.command("restore")
@click.argument("backup_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--force", is_flag=True, help="replace an existing database (stop the service first)")
def restore_command(backup_dir: str, force: bool) -> None:
    """Restore a `credit-service backup` directory: the database to CREDIT_SERVICE_DATABASE_URL (SQLite),
    the keys into CREDIT_SERVICE_DATA_DIR, the anchors to CREDIT_SERVICE_AUDIT_ANCHOR_FILE. Then run
    `credit-service db upgrade` and `credit-service audit verify`."""
    import os
    from pathlib import Path

    from .backup import BackupError, restore
    from .settings import _audit_anchor_file, _data_dir, _default_database_url
    url = os.environ.get("CREDIT_SERVICE_DATABASE_URL") or _default_database_url()
    try:
        manifest = restore(Path(backup_dir), url, _data_dir(), _audit_anchor_file(), force=force)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"restored the backup of {manifest['created_at']} (revision {manifest['revision']}, "
               f"{manifest['row_counts'].get('violations', 0)} violations) to {_safe_url(url)}")


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Create or migrate the schema (Alembic)."""
    from .adapters.migrations import upgrade
    settings = _settings()
    upgrade(settings.database_url, revision)
    click.echo(f"database at {revision}: {_safe_url(settings.database_url)}")


@main.group()
def clients() -> None:
    """API clients and their tokens."""


@clients.command("create")
@click.option("--name", required=True)
@click.option("--role", required=True, type=click.Choice(list(ROLES)))
@click.option("--region", default=None, help="6-digit pooling region (required for staff)")
@click.option("--subject", default=None, help="TYPE:ID_NUMBER (required for person)")
@click.option("--expires", default=None, metavar="DATE|DURATION",
              help="refuse the token from then on: YYYY-MM-DD (from 00:00 Asia/Shanghai that day) or a duration "
                   "from now: 12h, 90d, 2w; default: it does not expire")
def clients_create(name: str, role: str, region: str | None, subject: str | None, expires: str | None) -> None:
    """Create a client and print its token once (only its hash is stored)."""
    from .domain.tokens import ExpiryError, parse_expiry
    from .services.clients import create_client
    from .services.errors import ServiceError
    c = _container()
    try:
        expires_at = parse_expiry(expires, c.clock.now()) if expires is not None else None
    except ExpiryError as exc:
        raise click.BadParameter(str(exc), param_hint="--expires") from None
    try:
        _, token = create_client(c.uow(), c.clock, name, role, region, subject, expires_at, actor=_cli_actor())
    except ServiceError as exc:
        raise click.ClickException(exc.detail) from None
    if expires_at is not None:
        click.echo(f"expires {expires_at.isoformat(timespec='minutes')}", err=True)
    click.echo(token)


@clients.command("list")
def clients_list() -> None:
    """Every client: name, role, region, subject (masked), created, expires, state. Never a token."""
    from .services.clients import list_clients
    c = _container()
    now = c.clock.now()
    rows = [("NAME", "ROLE", "REGION", "SUBJECT", "CREATED", "EXPIRES", "STATE", "ID")]
    for client in list_clients(c.uow()):
        state = client.state(now)
        if state == "revoked":
            state = f"revoked {_minute(client.revoked_at)}"
        rows.append((client.name, client.role, client.region or "-", client.subject or "-",
                     _minute(client.created_at), _minute(client.expires_at) if client.expires_at else "never",
                     state, client.id))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())


def _minute(moment) -> str:
    return moment.strftime("%Y-%m-%d %H:%M")


@clients.command("revoke")
@click.argument("client", required=False)
@click.option("--name", default=None, help="the client's name (or give the name or id as an argument)")
def clients_revoke(client: str | None, name: str | None) -> None:
    """Revoke a client's token, by name or id (every process refuses it within about 1 s)."""
    from .services.clients import revoke_client
    from .services.errors import ServiceError
    if (client is None) == (name is None):
        raise click.UsageError("give the client's name or id: clients revoke NAME-OR-ID (or --name NAME)")
    c = _container()
    try:
        revoked = revoke_client(c.uow(), c.clock, client or name, actor=_cli_actor())
    except ServiceError as exc:
        raise click.ClickException(exc.detail) from None
    click.echo(f"revoked {revoked}")


@main.group()
def users() -> None:
    """Staff console accounts (docs/console.md)."""


@users.command("create")
@click.option("--username", required=True)
@click.option("--role", required=True, type=click.Choice(list(CONSOLE_ROLES)))
@click.option("--region", default=None, help="6-digit pooling region (required for staff)")
@click.option("--name", "display_name", default=None, help="the name shown on every page (default: the user name)")
@click.option("--password-stdin", is_flag=True, help="read the password from standard input (else one is generated)")
def users_create(username: str, role: str, region: str | None, display_name: str | None, password_stdin: bool) -> None:
    """Create a console account; a generated password is printed once (only its Argon2id hash is kept)."""
    from .services.errors import ServiceError
    from .services.staff_accounts import create_user
    password = None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    c = _container()
    try:
        user, generated = create_user(c.uow(), c.clock, username, role, region, password, display_name,
                                      actor=_cli_actor())
    except ServiceError as exc:
        raise click.ClickException(exc.detail) from None
    click.echo(f"created {user.username} ({user.role}{', ' + user.region if user.region else ''})")
    if generated:
        click.echo(f"password (shown once): {generated}")


@users.command("list")
def users_list() -> None:
    """Every account: user name, role, region, second factor, single sign-on, disabled."""
    from .services.staff_accounts import list_users
    for u in list_users(_container().uow()):
        flags = [f for f, on in (("totp", u.has_totp), ("sso", u.sso), ("disabled", u.disabled)) if on]
        click.echo(f"{u.username}\t{u.role}\t{u.region or '-'}\t{u.display_name}\t{','.join(flags) or '-'}")


@users.command("disable")
@click.argument("username")
def users_disable(username: str) -> None:
    """Disable an account; its open sessions end at once."""
    from .services.errors import ServiceError
    from .services.staff_accounts import disable_user
    c = _container()
    try:
        ended = disable_user(c.uow(), c.clock, username, actor=_cli_actor())
    except ServiceError as exc:
        raise click.ClickException(exc.detail) from None
    click.echo(f"disabled {username}; {ended} open session(s) ended")


@users.command("totp")
@click.argument("username")
def users_totp(username: str) -> None:
    """Enrol (or replace) the user's TOTP second factor; prints the otpauth:// URI once, for the
    authenticator app (as text or as a QR code made from it)."""
    from .services.errors import ServiceError
    from .services.staff_accounts import enrol_totp
    c = _container()
    try:
        uri = enrol_totp(c.uow(), c.clock, c.keys, username, actor=_cli_actor())
    except ServiceError as exc:
        raise click.ClickException(exc.detail) from None
    click.echo(uri)


@main.group()
def jobs() -> None:
    """Scheduled sweeps."""


@jobs.command("run")
def jobs_run() -> None:
    """Run the scheduler in this process (use with CREDIT_SERVICE_SCHEDULER=off on the web servers)."""
    from credit_service.jobs.runner import build_scheduler
    scheduler = build_scheduler(_container(), background=False)
    click.echo("job runner started; Ctrl-C stops it")
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass


@jobs.command("run-once")
@click.argument("name")
@click.option("--as-of", "as_of", default=None, help="YYYY-MM-DD (default: today in Asia/Shanghai)")
def jobs_run_once(name: str, as_of: str | None) -> None:
    """Run one sweep now, as of a date."""
    from credit_service.jobs.runner import INTERVAL_JOBS, JOBS, UnknownJob, run_job
    try:
        day = date.fromisoformat(as_of) if as_of else None
    except ValueError:
        raise click.BadParameter("expected YYYY-MM-DD", param_hint="--as-of") from None
    try:
        summary = run_job(_container(), name, day, force=True)
    except UnknownJob:
        raise click.ClickException(f"unknown job {name}; known: {', '.join([*JOBS, *INTERVAL_JOBS])}") from None
    if summary is None:
        click.echo(f"{name}: another runner holds the lock; nothing done")
        sys.exit(75)
    click.echo(f"{name}: {summary}")


@main.group()
def lists() -> None:
    """Lists exported to other systems."""


def _operator():
    """The command line acts as an operator with the database at hand: an admin's view."""
    from .services.access import operator
    return operator(f"cli:{_cli_user()}")


def _write(data: bytes, output: str | None) -> None:
    if output:
        with open(output, "wb") as f:
            f.write(data)
        click.echo(f"written to {output}", err=True)
    else:
        click.echo(data.decode("utf-8-sig"), nl=False)


@lists.command("joint-punishment")
@click.option("--since", default=None, help="YYYY-MM-DD: additions and removals since that day (default: today's list)")
@click.option("--region", default=None, help="one pooling region (default: all)")
@click.option("--format", "fmt", type=click.Choice(["json", "csv"]), default="json", show_default=True)
@click.option("--output", default=None, help="file to write (default: standard output)")
def lists_joint_punishment(since: str | None, region: str | None, fmt: str, output: str | None) -> None:
    """失信联合惩戒对象名单 (第八条第四项、第九条第五项) for the public credit platform: whole numbers and names."""
    import json
    from .services.errors import ServiceError
    from .services.joint_list import as_csv, as_dict, joint_punishment_list
    try:
        day = date.fromisoformat(since) if since else None
    except ValueError:
        raise click.BadParameter("expected YYYY-MM-DD", param_hint="--since") from None
    c = _container()
    try:
        result = joint_punishment_list(c.uow(), _operator(), day, region, rules=c.rules, clock=c.clock)
    except ServiceError as exc:
        raise click.ClickException(exc.detail) from None
    data = as_csv(result) if fmt == "csv" else json.dumps(as_dict(result), ensure_ascii=False, indent=2).encode()
    _write(data, output)


@main.group()
def reports() -> None:
    """The monthly statistics (月度统计报表)."""


@reports.command("monthly")
@click.option("--month", required=True, help="YYYY-MM")
@click.option("--region", default="all", show_default=True, help="a pooling region, or all (the province)")
@click.option("--format", "fmt", type=click.Choice(["json", "csv", "xlsx"]), default="csv", show_default=True)
@click.option("--output", default=None, help="file to write (default: standard output; xlsx needs a file)")
def reports_monthly(month: str, region: str, fmt: str, output: str | None) -> None:
    """A month's report: the frozen one if it was frozen, else computed from the record as it stands."""
    from .domain.reports import Month
    from .services.errors import ServiceError
    from .services.reports import monthly_report
    try:
        wanted = Month.parse(month)
    except ValueError:
        raise click.BadParameter("expected YYYY-MM", param_hint="--month") from None
    if fmt == "xlsx" and not output:
        raise click.BadParameter("xlsx is written to a file", param_hint="--output")
    c = _container()
    try:
        result = monthly_report(c.uow(), _operator(), None if region == "all" else region, wanted, fmt,
                                rules=c.rules, clock=c.clock)
    except ServiceError as exc:
        raise click.ClickException(exc.detail) from None
    _write(result.content, output)


@main.command("import")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--format", "fmt", type=click.Choice(["auto", "json", "csv"]), default="auto", show_default=True,
              help="auto: by the file's first character ('[' is JSON, anything else CSV)")
@click.option("--batch", default=None, type=click.IntRange(1), help="rows per transaction "
              "(default: CREDIT_SERVICE_IMPORT_MAX_ROWS, the API's limit per request)")
@click.option("--json", "json_output", default=None, type=click.Path(dir_okay=False, allow_dash=True),
              help="also write the per-row result, as the API answers it, to this file ('-': standard output)")
def import_file(file: str, fmt: str, batch: int | None, json_output: str | None) -> None:
    """Import violations from a CSV or JSON file, as POST /api/v1/violations/import does.

    The same formats, checks, decisions and audit trail as the API, acting as cli:<user> (an admin); a
    file of any length, in batches (each its own transaction: running it again after an interruption
    records only what is missing, the rest comes back as duplicates). Progress on stderr; at the end a
    summary with each rejected row's number (1 = the first row after a CSV header) and reasons. Exit
    status: 0 every row created or duplicate, 1 the file could not be read (nothing imported), 3 some
    rows were rejected (the others were imported)."""
    import logging
    import time
    import orjson
    from .api.violations import import_result_json
    from .progress import Progress
    from .services import bulk_import
    from .services.errors import ServiceError
    started = time.perf_counter()
    try:
        data = click.open_file(file, "rb").read()
    except OSError as exc:
        raise click.ClickException(f"cannot read {file}: {exc.strerror or exc}") from None
    if fmt == "auto":
        fmt = "json" if data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"[") else "csv"
    try:
        raw_rows = bulk_import.read_json(data) if fmt == "json" else bulk_import.read_csv(data)
    except ServiceError as exc:
        raise click.ClickException(f"{file} is not a readable {fmt.upper()} import file: {exc.detail}") from None
    c = _container()
    principal = _operator()
    progress = Progress("import", len(raw_rows), "rows")
    try:  # the collector is paused batch by batch (bulk_import.import_rows)
        outcomes = bulk_import.import_rows(c.uow, principal, raw_rows, c.rules, c.clock, c.dates,
                                           batch=batch or c.settings.import_max_rows, progress=progress)
        result = import_result_json(outcomes, raw_rows)
    except ServiceError as exc:
        raise click.ClickException(exc.detail) from None
    progress.finish()
    counts = result["summary"]
    logging.getLogger(__name__).info(
        "import by %s: %d rows (%d created, %d duplicate, %d rejected) in %.3f s", principal.name, counts["total"],
        counts["created"], counts["duplicate"], counts["rejected"], time.perf_counter() - started)
    if json_output:
        with click.open_file(json_output, "wb") as f:
            f.write(orjson.dumps(result, option=orjson.OPT_INDENT_2) + b"\n")
    to_stderr = json_output == "-"  # standard output holds the JSON
    click.echo(f"{file}: {counts['total']:,} rows: {counts['created']:,} created, {counts['duplicate']:,} duplicate "
               f"(recorded before), {counts['rejected']:,} rejected", err=to_stderr)
    for entry in result["results"]:
        if entry["status"] == "rejected":
            click.echo(f"  row {entry['index'] + 1}{_ref(entry)} rejected: {_reason(entry['error'])}", err=to_stderr)
    if counts["rejected"]:
        sys.exit(3)


def _ref(entry: dict) -> str:
    ref = entry.get("source_ref")
    return f" (source_ref {ref})" if isinstance(ref, str) and ref else ""


def _reason(problem: dict) -> str:
    """A rejected row's problem in one line: its detail, then each field's message not already in it."""
    detail = problem.get("detail") or problem.get("title") or problem.get("code")
    extra = [f"{field}: {messages[0]}" for field, messages in (problem.get("errors") or {}).items()
             if messages and messages[0] not in detail]
    return f"{detail} [{problem['code']}]" + (f" ({'; '.join(extra)})" if extra else "")


@main.group()
def docs() -> None:
    """Documents generated from the code."""


@docs.command("traceability")
@click.option("--output", default=None, help="default: docs/traceability.md beside the code")
@click.option("--check", is_flag=True, help="exit 1 if the file differs from what would be written")
def docs_traceability(output: str | None, check: bool) -> None:
    """docs/traceability.md: every article of Arts 5–15 with its rule-file keys, code and tests."""
    from pathlib import Path
    from .settings import PROJECT_ROOT
    from .traceability import render
    target = Path(output) if output else PROJECT_ROOT / "docs" / "traceability.md"
    text = render(PROJECT_ROOT)
    if check:
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            click.echo(f"{target} is out of date: run `credit-service docs traceability`", err=True)
            sys.exit(1)
        click.echo(f"{target} is up to date")
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    click.echo(f"written {target}")


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64), help="worker processes")
@click.option("--threads", default=64, show_default=True, type=click.IntRange(1, 512),
              help="request threads per worker")
@click.option("--header-timeout", default=10.0, show_default=True, type=click.FloatRange(1, 60),
              help="seconds a client has to send its request headers")
@click.option("--workers-lifetime", default=None, type=click.IntRange(60), help="replace each worker after N s")
@click.option("--workers-max-rss", default=None, type=click.IntRange(1), help="replace a worker above N MiB")
@click.option("--graceful-timeout", default=30, show_default=True, type=click.IntRange(1, 1800),
              help="seconds in-flight requests get to finish on SIGTERM")
@click.option("--app", default="credit_service:create_app", show_default=True, hidden=True,
              help="WSGI application factory (tests wrap the service's)")
def serve(host: str, port: int, workers: int, threads: int, header_timeout: float, workers_lifetime: int | None,
          workers_max_rss: int | None, graceful_timeout: int, app: str) -> None:
    """Run the service with granian (embedded mode: each worker can run the sweeps; a lock lets one act).

    The worker timeout is CREDIT_SERVICE_REQUEST_TIMEOUT_SECONDS (default 30). No access log from the
    server: status URLs carry identity numbers; the service logs route templates instead."""
    from .serving import ServeOptions
    from .serving import serve as run

    _preflight()
    run(ServeOptions(host=host, port=port, workers=workers, threads=threads, header_timeout_seconds=header_timeout,
                     workers_lifetime_seconds=workers_lifetime, workers_max_rss_mib=workers_max_rss,
                     graceful_timeout_seconds=graceful_timeout), app=app)


def _preflight() -> None:
    """Before any worker starts: `config check` (settings, files, keys against the database), one line per
    problem (exit 1) instead of a traceback per worker."""
    from .config_check import check
    report = check()
    for problem in report.problems:
        click.echo(problem, err=True)
    if not report.ok:
        sys.exit(1)


@main.group()
def config() -> None:
    """The configuration: variables, config/ files and keys."""


@config.command("check")
@click.option("--no-database", is_flag=True, help="do not connect to the database")
def config_check(no_database: bool) -> None:
    """Check every CREDIT_SERVICE_* variable, the rule, calendar and document files, the keys and (unless
    --no-database) the database's schema revision and key check values. One line per problem; exit 1 if any."""
    from .config_check import check
    report = check(database=not no_database)
    for note in report.notes:
        click.echo(f"ok: {note}")
    for problem in report.problems:
        click.echo(problem, err=True)
    if not report.ok:
        click.echo(f"{len(report.problems)} problem(s)", err=True)
        sys.exit(1)
    click.echo("configuration ok")


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url
    return make_url(url).render_as_string(hide_password=True)


if __name__ == "__main__":
    main()
