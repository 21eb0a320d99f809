"""Structured logs: one JSON object per line, each carrying the id of the request it belongs to.

The request id lives in a context variable that the operations middleware sets for the duration of
a request (credit_service/api/operations.py), so every log line written while serving it — by any
module — carries it without being passed around. CREDIT_SERVICE_LOG_FORMAT=text gives the old
human-readable lines.

Every line is masked on its way out (`mask_identity_numbers`): an 18-character identity number keeps
its first 6 and last 4 characters, any other run of 15 or more digits is hidden whole. The service
never logs a number on purpose; the mask is there for what it does not control — a server's own
messages, an exception's text, a traceback's local values. `credit-service serve` routes the HTTP
server's logs through the same handler (credit_service/serving.py), so there is one JSON format.
"""
from __future__ import annotations

import atexit
import contextvars
import json
import logging
import os
import re
import sys
import threading
import time

from collections import deque
from datetime import datetime, timezone

import orjson

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

# Attributes every LogRecord has; anything else was passed with extra={...} and goes into the object.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime",
                                                                              "request_id"}


# 15 digits and more (an 18-character number may end in X): identity numbers of both generations, and
# anything long enough to be mistaken for one. Runs of digits that long are no use in a log otherwise.
_DIGIT_RUN = re.compile(r"[0-9]{15,}[Xx]?")


def _mask(match: re.Match) -> str:
    run = match.group()
    return f"{run[:6]}********{run[-4:]}" if len(run) == 18 else "*" * len(run)


def mask_identity_numbers(text: str) -> str:
    """370102198811110018 → 370102********0018; other runs of ≥ 15 digits → all asterisks."""
    return _DIGIT_RUN.sub(_mask, text)


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        return True


class JsonFormatter(logging.Formatter):
    """Cheap enough for one line per request on the settlement hot path (orjson; the time's seconds
    part is formatted once per second)."""

    _second = -1
    _second_text = ""

    def format(self, record: logging.LogRecord) -> str:
        second = int(record.created)
        if second != self._second:
            self._second_text = datetime.fromtimestamp(second, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
            self._second = second
        entry = {
            "time": f"{self._second_text}.{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,  # several worker processes write to one stream
        }
        request_id = getattr(record, "request_id", None) or request_id_var.get()
        if request_id:
            entry["request_id"] = request_id
        for key, value in record.__dict__.items():
            if key not in _STANDARD and key[0] != "_":
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        try:
            line = orjson.dumps(entry, default=str).decode()
        except TypeError:  # e.g. an int beyond 64 bits in an extra
            line = json.dumps(entry, ensure_ascii=False, default=str)
        return mask_identity_numbers(line)


class TextFormatter(logging.Formatter):
    def __init__(self):
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        return mask_identity_numbers(super().format(record))


class ServiceHandler(logging.StreamHandler):
    """stderr, in batches: a request thread only formats its line and appends it; a thread of the
    process writes what has gathered every FLUSH_SECONDS, in one write. A write per line made every
    request give up the interpreter lock for a system call, and taking it back from the server's other
    threads cost more than the rest of a status check (docs/operations.md). Appending takes no lock
    either (a deque is safe to append to from any thread): with the server's many request threads, a
    lock per line made them queue behind each other. WARNING and above are written at once; what is
    pending is written when the process exits (also a worker process, which leaves through
    multiprocessing, not atexit). A kill -9 loses at most FLUSH_SECONDS of INFO lines."""

    FLUSH_SECONDS = 0.1
    # Beyond this many pending lines the request thread that appends one writes them all itself: above
    # the lines one FLUSH_SECONDS brings at full speed (~1,500 a worker), so that it stays the flusher's job.
    MAX_PENDING = 10_000

    def __init__(self, stream=None):
        super().__init__(stream)
        # Our own lines are masked already: write past a masking wrapper of stderr (mask_process_output).
        self.stream = getattr(self.stream, "_masked_stream", self.stream)
        self._pending: deque[str] = deque()
        self._write_lock = threading.Lock()
        self._flusher_started = False
        # A forked worker must not write its parent's pending lines a second time (nor inherit a held lock).
        os.register_at_fork(before=self.flush, after_in_child=self._after_fork)

    def _after_fork(self) -> None:
        self._pending = deque()
        self._write_lock = threading.Lock()
        self._flusher_started = False  # the parent's flusher thread did not come along

    def setStream(self, stream):
        return super().setStream(getattr(stream, "_masked_stream", stream))

    def handle(self, record: logging.LogRecord):
        # logging.Handler.handle would take the handler's lock around emit; emit needs none.
        rv = self.filter(record)
        if rv:
            self.emit(record)
        return rv

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception:
            self.handleError(record)
            return
        self.append_line(line, urgent=record.levelno >= logging.WARNING)

    def append_line(self, line: str, urgent: bool = False) -> None:
        """A formatted (and masked) line, written with the next batch, or at once if urgent."""
        self._pending.append(line)
        if urgent or len(self._pending) >= self.MAX_PENDING:
            self.flush()
        elif not self._flusher_started:
            self._start_flusher()

    def flush(self) -> None:
        with self._write_lock:  # batches leave in the order they were taken
            pending = self._pending
            lines = [pending.popleft() for _ in range(len(pending))]
            if lines and self.stream is not None:
                try:
                    self.stream.write("\n".join(lines) + "\n")
                    self.stream.flush()
                except Exception:
                    pass  # a closed or broken stream: nothing else to tell it to

    def _start_flusher(self) -> None:
        self._flusher_started = True
        atexit.register(self.flush)
        from multiprocessing import util
        util.Finalize(None, self.flush, exitpriority=100)

        def flush_forever():
            while True:
                time.sleep(self.FLUSH_SECONDS)
                self.flush()

        threading.Thread(target=flush_forever, name="log-flusher", daemon=True).start()


def flush_logs() -> None:
    """Write pending lines now (before os._exit, which runs no exit hook)."""
    for handler in logging.getLogger().handlers:
        handler.flush()


_ACCESS = logging.getLogger("credit_service.access")


def direct_access_handler() -> "ServiceHandler | None":
    """The service's own JSON handler when it alone receives the access log (the usual case), so that
    `write_access_line` may hand it a line without a LogRecord: the record, the logger hierarchy and the
    formatter's generic walk cost about as much as the whole status check. None when logging is set up
    otherwise (a test's capture, an embedding application, the text format): then log as usual."""
    handlers = logging.root.handlers
    if len(handlers) != 1 or _ACCESS.handlers or _ACCESS.filters or not _ACCESS.propagate:
        return None
    handler = handlers[0]
    if (handler.__class__ is not ServiceHandler or handler.formatter.__class__ is not JsonFormatter
            or handler.level > logging.INFO or not _ACCESS.isEnabledFor(logging.INFO)):
        return None
    return handler


_PID = {"pid": os.getpid()}
os.register_at_fork(after_in_child=lambda: _PID.update(pid=os.getpid()))


class _AccessLines:
    """Builds the access line from pieces encoded once: the part that depends only on method, route and
    status, and the client's name, are JSON-encoded and masked the first time they are seen; per request
    only the time, the request id and the duration are new. The whole-line orjson + mask this replaces
    cost about as much as the rest of a status check in the server (issue 9)."""

    MAX_CACHED = 10_000  # routes × statuses are bounded; client names almost: a cap all the same

    def __init__(self):
        self.second, self.second_text = -1, ""
        self.heads: dict[tuple, tuple[str, str]] = {}
        self.clients: dict[str | None, str] = {}

    def head(self, method: str, endpoint: str, status) -> tuple[str, str]:
        key = (method, endpoint, status)
        pieces = self.heads.get(key)
        if pieces is None:
            if len(self.heads) >= self.MAX_CACHED:
                self.heads.clear()
            message = orjson.dumps(f"{method} {endpoint} {status}").decode()
            fields = orjson.dumps({"method": method, "endpoint": endpoint, "status": status}).decode()[1:-1]
            pieces = self.heads[key] = (
                mask_identity_numbers(f'"level":"INFO","logger":"{_ACCESS.name}","message":{message},"pid":'),
                mask_identity_numbers(fields))
        return pieces

    def client(self, name: str | None) -> str:
        encoded = self.clients.get(name)
        if encoded is None:
            if len(self.clients) >= self.MAX_CACHED:
                self.clients.clear()
            encoded = self.clients[name] = mask_identity_numbers(orjson.dumps(name).decode())
        return encoded

    def line(self, now: float, request_id: str | None, method: str, endpoint: str, status, duration_ms: float,
             client: str | None) -> str:
        second = int(now)
        if second != self.second:
            self.second_text = datetime.fromtimestamp(second, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
            self.second = second
        head, fields = self.head(method, endpoint, status)
        if request_id:
            # A request id is a plain token ([A-Za-z0-9._:-], operations.request_id_from): nothing to
            # escape in JSON; a long run of digits in one is masked like anywhere else.
            if _DIGIT_RUN.search(request_id):
                request_id = mask_identity_numbers(request_id)
            rid = f',"request_id":"{request_id}",'
        else:
            rid = ","
        return (f'{{"time":"{self.second_text}.{int((now - second) * 1000):03d}Z",{head}{_PID["pid"]}{rid}'
                f'{fields},"duration_ms":{orjson.dumps(duration_ms).decode()},"client":{self.client(client)}}}')


_access_lines = _AccessLines()


def write_access_line(handler: "ServiceHandler", request_id: str | None, method: str, endpoint: str, status,
                      duration_ms: float, client: str | None, now: float | None = None) -> None:
    """One access line, exactly as JsonFormatter would write the record Operations used to log."""
    handler.append_line(_access_lines.line(time.time() if now is None else now, request_id, method, endpoint,
                                           status, duration_ms, client))


def make_handler(fmt: str | None = None) -> logging.Handler:
    """The service's handler (stderr). Also named in the server's logging configuration
    (credit_service/serving.py: `{"()": "credit_service.logging_setup.make_handler"}`)."""
    handler = ServiceHandler()
    if (fmt or os.environ.get("CREDIT_SERVICE_LOG_FORMAT", "json")) == "text":
        handler.setFormatter(TextFormatter())
    else:
        handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    handler._credit_service = True
    return handler


class _ChosenThreadCount(logging.Filter):
    """granian warns at every start that more request threads than cores "seems quite high": the
    service chose them on purpose (a slow request body holds one: credit_service/serving.py)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Configuration allows spawning up to")


def server_log_config(level: str | None = None) -> dict:
    """logging.config.dictConfig for a server process (granian's `log_dictconfig`, gunicorn's
    `logconfig_dict`): the root logger and the servers' own loggers write through make_handler."""
    level = level or os.environ.get("CREDIT_SERVICE_LOG_LEVEL", "INFO")
    server_loggers = ("gunicorn", "gunicorn.error")
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {},
        "filters": {"threads": {"()": "credit_service.logging_setup._ChosenThreadCount"}},
        "handlers": {"service": {"()": "credit_service.logging_setup.make_handler"}},
        "root": {"handlers": ["service"], "level": level},
        "loggers": {**{name: {"handlers": [], "propagate": True, "level": level} for name in server_loggers},
                    "_granian": {"handlers": [], "propagate": True, "level": level, "filters": ["threads"]},
                    # The servers' access logs would write the raw path: the service writes its own (route
                    # templates). gunicorn turns its access log on whenever a logging configuration is given.
                    "granian.access": {"handlers": [], "propagate": True, "level": "WARNING"},
                    "gunicorn.access": {"handlers": [], "propagate": True, "level": "WARNING"},
                    "apscheduler": {"level": "WARNING"}},  # see configure_logging
    }


class _MaskingStream:
    """stdout/stderr of a server process: what is printed without going through logging (a library's
    print, a Rust panic hook's message relayed by Python, warnings) is masked too."""

    def __init__(self, stream):
        self._masked_stream = stream

    def write(self, text):
        return self._masked_stream.write(mask_identity_numbers(text) if isinstance(text, str) else text)

    def __getattr__(self, name):
        return getattr(self._masked_stream, name)


def mask_process_output() -> None:
    """For a server process (master and, inherited over fork, its workers): uncaught exceptions go
    through logging, and whatever else reaches sys.stdout/sys.stderr is masked."""
    if not isinstance(sys.stderr, _MaskingStream):
        sys.stderr = _MaskingStream(sys.stderr)
    if not isinstance(sys.stdout, _MaskingStream):
        sys.stdout = _MaskingStream(sys.stdout)
    uncaught = logging.getLogger("credit_service.uncaught")

    def log_uncaught(kind, value, traceback):
        uncaught.critical("uncaught %s", kind.__name__, exc_info=(kind, value, traceback))

    def log_uncaught_in_thread(args):
        if args.exc_type is SystemExit:
            return
        name = args.thread.name if args.thread is not None else "?"
        uncaught.error("uncaught %s in thread %s", args.exc_type.__name__, name,
                       exc_info=(args.exc_type, args.exc_value, args.exc_traceback))

    def log_unraisable(unraisable):
        uncaught.warning("exception ignored in %r", unraisable.object, exc_info=(
            unraisable.exc_type, unraisable.exc_value, unraisable.exc_traceback))

    sys.excepthook = log_uncaught
    threading.excepthook = log_uncaught_in_thread
    sys.unraisablehook = log_unraisable


def configure_logging() -> None:
    root = logging.getLogger()
    if any(getattr(h, "_credit_service", False) for h in root.handlers) or _configured_elsewhere(root):
        return
    root.addHandler(make_handler())
    root.setLevel(os.environ.get("CREDIT_SERVICE_LOG_LEVEL", "INFO"))
    # APScheduler says "Running job …" / "executed successfully" at INFO for every run — every few
    # seconds per worker for the webhook job; jobs/runner.py logs what each run did instead.
    scheduler_log = logging.getLogger("apscheduler")
    if scheduler_log.level == logging.NOTSET:
        scheduler_log.setLevel(logging.WARNING)


def _configured_elsewhere(root: logging.Logger) -> bool:
    """Someone (gunicorn's --log-config, an embedding application) set up logging: keep theirs.
    pytest's capture handlers do not count."""
    return any(type(h).__module__.split(".")[0] not in ("_pytest",) for h in root.handlers)
