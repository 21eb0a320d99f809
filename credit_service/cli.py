"""`credit-service`: db upgrade, clients, users, keys, audit, jobs and serve."""
from __future__ import annotations

import sys
from datetime import date

import click

from .services.access import CONSOLE_ROLES, ROLES
from .settings import Settings


def _container():
    from .container import build_container
    return build_container(Settings.from_env())


@click.group()
def main() -> None:
    """山东医保信用管理服务 (credit-service)."""
    import getpass
    from .logging_setup import configure_logging
    configure_logging()  # the job runner and one-off commands log like the web processes (JSON)
    from .audit_context import Actor, _current
    try:
        user = getpass.getuser()
    except Exception:  # no user name in some containers
        user = "unknown"
    token = _current.set(Actor(f"cli:{user}", "operator"))  # the audit trail's actor for CLI commands
    click.get_current_context().call_on_close(lambda: _current.reset(token))


@main.group()
def audit() -> None:
    """The hash-chained audit trail."""


@audit.command("verify")
def audit_verify() -> None:
    """Walk the whole chain; exit 1 naming each broken event (edited, deleted or inserted rows, a MAC
    that does not fit, an anchored head the chain no longer holds)."""
    from .services.audit import read_anchors, verify
    c = _container()
    path = c.settings.audit_anchor_file
    anchors = read_anchors(path)
    with c.session_factory() as session:
        checked, problems = verify(session, keys=c.audit_keys, anchors=anchors)
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
    ones after them); then start the service. See README "Identity numbers at rest"."""
    from .services.key_rotation import rotate
    c = _container()
    summary = rotate(c.session_factory, c.keys, c.clock.now(), batch=batch)
    click.echo(f"keys rotated: {summary}")


@keys.command("status")
def keys_status() -> None:
    """How many subjects use each key id (a rotation is complete when only the current ones remain)."""
    from .services.key_rotation import key_versions
    c = _container()
    click.echo(f"current keys: lookup {c.keys.hmac_id}, sealed {c.keys.encryption_id}")
    for name, count in sorted(key_versions(c.session_factory).items()):
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


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Create or migrate the schema (Alembic)."""
    from .adapters.migrations import upgrade
    settings = Settings.from_env()
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
        _, token = create_client(c.uow(), c.clock, name, role, region, subject, expires_at)
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
        revoked = revoke_client(c.uow(), c.clock, client or name)
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
        user, generated = create_user(c.uow(), c.clock, username, role, region, password, display_name)
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
        ended = disable_user(c.uow(), c.clock, username)
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
        uri = enrol_totp(c.uow(), c.clock, c.keys, username)
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
    import getpass
    from .services.access import operator
    try:
        user = getpass.getuser()
    except Exception:
        user = "unknown"
    return operator(f"cli:{user}")


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

    run(ServeOptions(host=host, port=port, workers=workers, threads=threads, header_timeout_seconds=header_timeout,
                     workers_lifetime_seconds=workers_lifetime, workers_max_rss_mib=workers_max_rss,
                     graceful_timeout_seconds=graceful_timeout), app=app)


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url
    return make_url(url).render_as_string(hide_password=True)


if __name__ == "__main__":
    main()
