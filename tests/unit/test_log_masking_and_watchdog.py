"""Issue 9, finding 9 (identity numbers in logs) and the worker timeout of finding 2, in one process.
The end-to-end versions, through the real server: tests/e2e/test_default_server.py."""
from __future__ import annotations

import io
import json
import logging
import re
import threading
import time

import pytest

from credit_service.api.watchdog import RequestWatchdog
from credit_service.logging_setup import (JsonFormatter, TextFormatter, _MaskingStream, make_handler,
                                          mask_identity_numbers, server_log_config)
from credit_service.rate_limit import Limit, RateLimiter, stricter

NUMBER = "370102198811110018"
MASKED = "370102********0018"


@pytest.mark.parametrize("text,expected", [
    (f"GET /api/v1/subjects/insured/{NUMBER}/status", f"GET /api/v1/subjects/insured/{MASKED}/status"),
    ("37010219881111001X and 37010219881111001x", "370102********001X and 370102********001x"),
    ("old-style 370102881111001 here", "old-style *************** here"),
    (f"in a longer run 99{NUMBER}99", "in a longer run **********************"),
    ("request 7f3a9c2e10b44d01-1f, 12 rows, 2026-11-26, 100000000000000 fen", "request 7f3a9c2e10b44d01-1f, 12 rows, "
                                                                             "2026-11-26, *************** fen"),
    ("short 12345678901234 stays", "short 12345678901234 stays"),
])
def test_finding_9_identity_numbers_are_masked(text, expected):
    assert mask_identity_numbers(text) == expected


def _record(message, *args, exc_info=None, **extra):
    record = logging.LogRecord("gunicorn.error", logging.ERROR, __file__, 1, message, args, exc_info)
    record.__dict__.update(extra)
    record.request_id = None
    return record


def test_finding_9_the_json_lines_mask_message_arguments_extras_and_tracebacks():
    try:
        raise ValueError(f"no subject {NUMBER}")
    except ValueError:
        import sys
        exc_info = sys.exc_info()
    line = JsonFormatter().format(_record("Error handling request %s", f"/api/v1/subjects/insured/{NUMBER}/status",
                                          exc_info=exc_info, path=f"/x/{NUMBER}"))
    assert NUMBER not in line
    entry = json.loads(line)
    assert MASKED in entry["message"] and MASKED in entry["exception"] and entry["path"] == f"/x/{MASKED}"


def test_finding_9_the_text_format_is_masked_too():
    assert TextFormatter().format(_record("WORKER TIMEOUT GET /status/%s", NUMBER)).endswith(f"/status/{MASKED}")


def test_finding_9_the_servers_loggers_write_through_the_services_handler(monkeypatch):
    """granian's and gunicorn's own loggers (their error logs) go to the root logger's one handler."""
    import logging.config
    stream = io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        logging.config.dictConfig(server_log_config("INFO"))
        assert [h for h in root.handlers if getattr(h, "_credit_service", False)]
        for name in ("_granian", "gunicorn.error"):
            logging.getLogger(name).error("Application callable raised an exception: %s", f"/insured/{NUMBER}")
    finally:
        for handler in root.handlers[:]:
            root.removeHandler(handler)
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [e["logger"] for e in lines] == ["_granian", "gunicorn.error"]
    assert NUMBER not in stream.getvalue() and all(MASKED in e["message"] for e in lines)


def test_finding_9_what_is_printed_past_logging_is_masked():
    out = io.StringIO()
    stream = _MaskingStream(out)
    print(f"Traceback … {NUMBER}", file=stream)
    assert out.getvalue() == f"Traceback … {MASKED}\n"


def test_make_handler_is_the_services_json_handler():
    handler = make_handler("json")
    assert isinstance(handler.formatter, JsonFormatter) and handler._credit_service


# ------------------------------------------------------------------ the worker timeout
def test_finding_2_a_request_past_the_timeout_is_logged_without_its_path_and_ends_the_worker(caplog):
    stopped = threading.Event()
    watchdog = RequestWatchdog(0.2, lambda environ: f"GET {environ['credit_service.endpoint']}",
                               stop=stopped.set)
    environ = {"PATH_INFO": f"/api/v1/subjects/insured/{NUMBER}/status",
               "credit_service.endpoint": "/api/v1/subjects/<subject_type>/<id_number>/status"}
    quick = {"PATH_INFO": "/healthz", "credit_service.endpoint": "/healthz"}
    with caplog.at_level(logging.ERROR):
        watchdog.begin(quick)
        watchdog.end(quick)
        watchdog.begin(environ)
        assert stopped.wait(5)
    [record] = [r for r in caplog.records if r.name == "credit_service.api.watchdog"]
    assert "request timeout: GET /api/v1/subjects/<subject_type>/<id_number>/status" in record.getMessage()
    assert NUMBER not in caplog.text


def test_finding_2_requests_within_the_timeout_end_nothing():
    stopped = threading.Event()
    watchdog = RequestWatchdog(0.5, lambda environ: "GET /x", stop=stopped.set)
    for _ in range(20):
        environ = {}
        watchdog.begin(environ)
        time.sleep(0.05)
        watchdog.end(environ)
    assert not stopped.wait(0.8)


# ------------------------------------------------------------------ finding 11: the unknown callers' limit
def test_finding_11_unknown_callers_get_the_stricter_limit_and_a_refund_restores_one():
    assert stricter(Limit(500, 1000), Limit(20, 40)) == Limit(20, 40)
    assert stricter(None, Limit(20, 40)) == Limit(20, 40) and stricter(Limit(0.01, 3), Limit(20, 40)) == Limit(0.01, 3)
    assert stricter(None, None) is None
    now = [0.0]
    limiter = RateLimiter(Limit(500, 1000), anonymous=Limit(1, 2), now=lambda: now[0])
    assert limiter.anonymous == Limit(1, 2)
    assert [limiter.take("addr:a", limiter.anonymous) for _ in range(2)] == [0.0, 0.0]
    assert limiter.take("addr:a", limiter.anonymous) > 0
    limiter.refund("addr:a", limiter.anonymous)
    assert limiter.take("addr:a", limiter.anonymous) == 0.0
    for _ in range(5):
        limiter.refund("addr:a", limiter.anonymous)  # never above the burst
    assert [limiter.take("addr:a", limiter.anonymous) == 0.0 for _ in range(3)] == [True, True, False]


_ACCESS_CASES = [  # (request id, method, endpoint, status, duration_ms, client)
    ("req-1", "GET", "/api/v1/subjects/<subject_type>/<id_number>/status", 200, 0.123, "his-370102198811110018"),
    (None, "POST", "/api/v1/status/batch", 200, 12.5, None),
    ("abc-123456789012345678", "GET", "(unmatched)", 404, 1.0, 'client "quoted" \\ 医院'),
    ("x.y:z-1", "OTHER", "/api/v1/violations", "5xx", 1234.567, "hospital-his"),
    ("123456789012345", "DELETE", "/api/v1/webhooks/<webhook_id>", 204, 0.001, "1234567890123456"),
]


@pytest.mark.parametrize("request_id, method, endpoint, status, duration_ms, client", _ACCESS_CASES)
def test_the_direct_access_line_is_the_line_the_logging_path_writes(request_id, method, endpoint, status,
                                                                     duration_ms, client):
    """Operations writes access lines straight to the service's handler (no LogRecord on the hot path),
    from pieces encoded once (issue 9's throughput); a line must read exactly, byte for byte, as the
    same fields logged through `logging` would — masked the same way."""
    import io
    import logging

    from credit_service.logging_setup import RequestIdFilter, ServiceHandler, JsonFormatter, write_access_line

    stream = io.StringIO()
    handler = ServiceHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    fields = {"method": method, "endpoint": endpoint, "status": status, "duration_ms": duration_ms,
              "client": client}
    access = logging.getLogger("credit_service.access")
    record = access.makeRecord(access.name, logging.INFO, "(access)", 0, "%s %s %s", (method, endpoint, str(status)),
                               None, extra=dict(fields, request_id=request_id))
    handler.handle(record)
    for _ in range(2):  # the second time from the cached pieces
        write_access_line(handler, request_id, method, endpoint, status, duration_ms, client, now=record.created)
    handler.flush()
    by_logging, *direct = stream.getvalue().splitlines()
    assert direct == [by_logging, by_logging]
    assert not re.search(r"[0-9]{15}", by_logging)  # every long run of digits masked


def test_a_forked_worker_starts_its_own_log_flusher(tmp_path):
    """The server forks its workers after logging is set up: a worker's INFO lines must still leave
    within a flush interval, without an exit hook (os._exit runs none), from the worker's own flusher."""
    import os

    from credit_service.logging_setup import ServiceHandler

    path = tmp_path / "log"
    with open(path, "w", buffering=1) as stream:
        handler = ServiceHandler(stream)
        handler.append_line("parent")  # the parent's flusher thread starts here
        handler.flush()
        pid = os.fork()
        if pid == 0:  # the worker
            try:
                handler.append_line("child")
                time.sleep(ServiceHandler.FLUSH_SECONDS * 5)
            finally:
                os._exit(0)
        os.waitpid(pid, 0)
    assert path.read_text().splitlines() == ["parent", "child"]
