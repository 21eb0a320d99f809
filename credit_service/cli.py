"""`credit-service`: db upgrade, clients, keys, audit, jobs and serve."""
from __future__ import annotations

import sys
from datetime import date

import click

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
    """Walk the whole chain; exit 1 naming each broken event (edited, deleted or inserted rows)."""
    from .services.audit import verify
    c = _container()
    with c.session_factory() as session:
        checked, problems = verify(session)
    for problem in problems:
        click.echo(f"seq {problem.seq}: {problem.problem}", err=True)
    if problems:
        click.echo(f"audit trail BROKEN: {len(problems)} problem(s) in {checked} events", err=True)
        sys.exit(1)
    click.echo(f"audit trail intact: {checked} events")


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
@click.option("--role", required=True, type=click.Choice(["settlement", "reporter", "staff", "person", "admin"]))
@click.option("--region", default=None, help="6-digit pooling region (required for staff)")
@click.option("--subject", default=None, help="TYPE:ID_NUMBER (required for person)")
def clients_create(name: str, role: str, region: str | None, subject: str | None) -> None:
    """Create a client and print its token once (only its hash is stored)."""
    from .services.clients import create_client
    from .services.errors import ServiceError
    c = _container()
    try:
        _, token = create_client(c.uow(), c.clock, name, role, region, subject)
    except ServiceError as exc:
        raise click.ClickException(exc.detail) from None
    click.echo(token)


@clients.command("revoke")
@click.option("--name", required=True)
def clients_revoke(name: str) -> None:
    """Revoke a client's token (every process stops accepting it within about 1 s)."""
    from .services.clients import revoke_client
    from .services.errors import ServiceError
    c = _container()
    try:
        revoke_client(c.uow(), c.clock, name)
    except ServiceError as exc:
        raise click.ClickException(exc.detail) from None
    click.echo(f"revoked {name}")


@main.group()
def jobs() -> None:
    """Scheduled sweeps."""


@jobs.command("run")
def jobs_run() -> None:
    """Run the scheduler in this process (use with CREDIT_SERVICE_SCHEDULER=off on the web servers)."""
    from jobs.runner import build_scheduler
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
    from jobs.runner import INTERVAL_JOBS, JOBS, UnknownJob, run_job
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
