"""Structured logs: one JSON object per line, each carrying the id of the request it belongs to.

The request id lives in a context variable that the operations middleware sets for the duration of
a request (credit_service/api/operations.py), so every log line written while serving it — by any
module — carries it without being passed around. CREDIT_SERVICE_LOG_FORMAT=text gives the old
human-readable lines.
"""
from __future__ import annotations

import contextvars
import json
import logging
import os

import orjson
from datetime import datetime, timezone

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

# Attributes every LogRecord has; anything else was passed with extra={...} and goes into the object.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime",
                                                                              "request_id"}


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
            return orjson.dumps(entry, default=str).decode()
        except TypeError:  # e.g. an int beyond 64 bits in an extra
            return json.dumps(entry, ensure_ascii=False, default=str)


def make_handler(fmt: str | None = None) -> logging.Handler:
    handler = logging.StreamHandler()
    if (fmt or os.environ.get("CREDIT_SERVICE_LOG_FORMAT", "json")) == "text":
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"))
    else:
        handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    return handler


def configure_logging() -> None:
    root = logging.getLogger()
    if any(getattr(h, "_credit_service", False) for h in root.handlers) or _configured_elsewhere(root):
        return
    handler = make_handler()
    handler._credit_service = True
    root.addHandler(handler)
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
