"""The HTTP server of `credit-service serve`, `./dev serve` and the Dockerfile: granian (WSGI).

Why granian (docs/operations.md has the measurements): its Rust HTTP layer reads requests
asynchronously, so a client that sends its headers slowly ties up no Python thread and costs nobody
else an answer (gunicorn's sync workers gave one worker per connection to whoever connected), and
it answers the status check several times faster than gunicorn on the same two cores (6.6× here
under load, 3.7× on a quiet machine; a third of the CPU per request).

Each worker is a process forked from this one; it creates the application itself (the factory is
called in the worker), so every worker loads its own status index, starts its own scheduler (one
runner acts at a time, by lock) and writes its counters to the shared PROMETHEUS_MULTIPROC_DIR.
What gunicorn's arbiter gave and granian does not, the service does itself: the worker timeout
(credit_service/api/watchdog.py). gunicorn stays usable: credit_service/gunicorn_conf.py.
"""
from __future__ import annotations

import ctypes
import importlib
import logging
import os
import shutil
import signal
import sys
import tempfile
from dataclasses import dataclass

from .logging_setup import mask_process_output, server_log_config

DEFAULT_APP = "credit_service:create_app"
_PR_SET_PDEATHSIG = 1

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 2
    # Python threads per worker that run requests. A request whose body arrives slowly holds one
    # while it is read, so keep plenty; idle ones cost nothing (granian starts them on demand).
    threads: int = 64
    # A connection that has not sent its request headers within this time is closed.
    header_timeout_seconds: float = 10.0
    # Recycling: replace each worker after this long (≥ 60 s), or when its memory exceeds this (MiB).
    workers_lifetime_seconds: int | None = None
    workers_max_rss_mib: int | None = None
    # On SIGTERM, in-flight requests get this long to finish before workers are killed.
    graceful_timeout_seconds: int = 30


def prepare_server_process() -> str | None:
    """What every server process needs before the workers start: one metrics directory for all of
    them (a fresh one per start unless given; returned if made here), and masked output."""
    made = None
    if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        # /metrics then sums every worker's counters, including those of workers replaced since.
        made = os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="credit-service-metrics-")
    mask_process_output()
    return made


def granian_server(options: ServeOptions, app: str = DEFAULT_APP):
    from granian.constants import HTTPModes, Interfaces
    from granian.http import HTTP1Settings
    from granian.log import LogLevels
    from granian.server.mp import MPServer  # worker processes, whatever the Python build

    level = os.environ.get("CREDIT_SERVICE_LOG_LEVEL", "INFO").lower()
    return MPServer(
        app, address=options.host, port=options.port, interface=Interfaces.WSGI, factory=True,
        workers=options.workers, blocking_threads=options.threads,
        # HTTP/1.1 only: settlement systems speak it; HTTP/2 is a proxy's business.
        http=HTTPModes.http1, websockets=False,
        http1_settings=HTTP1Settings(header_read_timeout=int(options.header_timeout_seconds * 1000)),
        # The service writes its own access log (route templates, never the raw path): none from granian.
        log_enabled=True, log_level=LogLevels(level) if level in LogLevels.__members__ else LogLevels.info,
        log_dictconfig=server_log_config(), log_access=False,
        respawn_failed_workers=True, workers_lifetime=options.workers_lifetime_seconds,
        workers_max_rss=options.workers_max_rss_mib, workers_kill_timeout=options.graceful_timeout_seconds,
    )


def load_worker_app(target: str):
    """Called in each worker process before granian installs its signal handlers: build the app."""
    # Until then the worker has the master's handlers, which would swallow a SIGTERM sent while the
    # app is being built (the worker would then refuse to stop): with nothing in flight, just die.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    _leave_master_group()
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)()


def _leave_master_group() -> None:
    """A worker leaves the master's process group, so that Ctrl-C or a signal to the group reaches
    the master alone, which stops each worker with one SIGTERM (a granian worker that gets a second
    signal while handling the first never finishes stopping). In exchange it asks the kernel to kill
    it when the master dies: an orphaned worker would go on answering from the shared socket."""
    if not sys.platform.startswith("linux"):
        return
    master = os.getppid()
    try:
        os.setpgid(0, 0)
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        log.warning("worker could not leave the master's process group", exc_info=True)
        return
    if os.getppid() != master:  # the master died before the request above took effect
        os._exit(1)


def serve(options: ServeOptions, app: str = DEFAULT_APP) -> None:
    metrics_dir = prepare_server_process()
    try:
        granian_server(options, app).serve(target_loader=load_worker_app)
    finally:
        if metrics_dir:  # the counters of this run end with it
            shutil.rmtree(metrics_dir, ignore_errors=True)
