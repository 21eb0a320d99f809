"""The outermost WSGI layer: request ids, per-client rate limits, metrics and the access log.

It wraps the fast status path as well as Flask (create_app), so both are covered the same way. The
route template of a request (the metrics label and the access-log `endpoint`) is put into the WSGI
environ by whoever routes it: FastStatusPath for what it answers, a Flask before_request hook for the
rest (ENDPOINT_KEY). The raw path is never logged nor used as a label: it carries identity numbers.
Every label is bounded: the method to a known set (else "OTHER"), the endpoint to route templates, the
status to known codes — a caller cannot grow /metrics or put text of its own into it.

Callers are rate-limited before their token is looked up: a token this process does not know yet is
charged to its address's bucket for unknown callers first, so a flood of made-up tokens reaches the
database only as fast as that bucket allows (TokenCache remembers misses briefly as well).
"""
from __future__ import annotations

import http
import itertools
import json
import logging
import os
import re
import time
import uuid

from ..logging_setup import direct_access_handler, request_id_var, write_access_line
from ..metrics import LATENCY, RATE_LIMITED, REQUESTS
from ..rate_limit import RateLimiter, retry_after_header
from .watchdog import RequestWatchdog

access_log = logging.getLogger("credit_service.access")

ENDPOINT_KEY = "credit_service.endpoint"
PRINCIPAL_KEY = "credit_service.principal"
REQUEST_ID_KEY = "credit_service.request_id"
UNMATCHED = "(unmatched)"
# Probes and scrapes are never limited: an operator must always be able to see what is going on.
_UNLIMITED = frozenset({"/healthz", "/readyz", "/metrics", "/ping"})
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")
_LOOKS_LIKE_ID_NUMBER = re.compile(r"[0-9]{17}[0-9Xx]")
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_STATUSES = frozenset(str(int(s)) for s in http.HTTPStatus)
# Every response: a browser must not guess a type other than the one declared (problem+json, HTML notice).
_NOSNIFF = ("X-Content-Type-Options", "nosniff")


def method_label(method: str) -> str:
    return method if method in METHODS else "OTHER"


def status_label(status: str) -> str:
    if status in _STATUSES:
        return status
    return f"{status[0]}xx" if status[:1] in ("1", "2", "3", "4", "5") else "other"


_ids = {"pid": None, "prefix": "", "counter": itertools.count(1)}


def new_request_id() -> str:
    """Unique across processes and restarts: a random prefix per process (renewed after a fork) and a
    counter — a fraction of uuid4's cost on the hot path. The dash keeps the two from forming a long
    run of digits that could pass for an identity number in a log."""
    if _ids["pid"] != os.getpid():
        _ids.update(pid=os.getpid(), prefix=uuid.uuid4().hex[:16], counter=itertools.count(1))
    return f"{_ids['prefix']}-{next(_ids['counter']):x}"


def request_id_from(header: str | None) -> str:
    """The caller's X-Request-Id if it is a plain token, else a new one. One that could be an identity
    number is replaced too: request ids are written to every log line."""
    if header and _REQUEST_ID.fullmatch(header) and not _LOOKS_LIKE_ID_NUMBER.search(header):
        return header
    return new_request_id()


class Operations:
    def __init__(self, wsgi_app, container, limiter: RateLimiter, route_of):
        self.wsgi_app = wsgi_app
        self.container = container
        self.limiter = limiter
        self.route_of = route_of  # environ -> route template; only for requests refused before routing
        self.access_log = container.settings.access_log
        self._limited = limiter.default is not None or bool(limiter.overrides) or limiter.anonymous is not None
        timeout = container.settings.request_timeout_seconds
        self.watchdog = RequestWatchdog(timeout, _current_endpoint) if timeout > 0 else None
        self._series: dict[tuple, tuple] = {}

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        request_id = request_id_from(environ.get("HTTP_X_REQUEST_ID"))
        environ[REQUEST_ID_KEY] = request_id
        context = request_id_var.set(request_id)
        status_line = ["500"]
        principal = None
        if self.watchdog is not None:
            self.watchdog.begin(environ)

        def start(status, headers, exc_info=None):
            status_line[0] = status
            headers.append(("X-Request-Id", request_id))
            headers.append(_NOSNIFF)
            return start_response(status, headers, exc_info)

        try:
            principal, wait = self._authenticate(environ)
            if wait:
                environ[ENDPOINT_KEY] = self.route_of(environ)
                RATE_LIMITED.labels(environ[ENDPOINT_KEY]).inc()
                return self._too_many(start, wait, principal)
            return self.wsgi_app(environ, start)
        finally:
            if self.watchdog is not None:
                self.watchdog.end(environ)
            self._observe(environ, status_line[0][:3], time.perf_counter() - started, principal)
            request_id_var.reset(context)

    def _authenticate(self, environ):
        """(principal or None, seconds to wait before the request may proceed — 0.0 if it may now).

        A token this process has not seen is charged to the unknown callers' bucket of its address
        before it is looked up; once it turns out valid the charge is given back and the client's own
        bucket is charged. The answer of the look-up (a principal, or None for a miss) is left in the
        environ for the fast path and Flask."""
        limited = self._limited and environ.get("PATH_INFO") not in _UNLIMITED
        header = environ.get("HTTP_AUTHORIZATION", "")
        if not header.startswith("Bearer "):
            return None, self._take_unknown(environ) if limited else 0.0
        token = header[7:].strip()
        tokens = self.container.tokens
        known, principal = tokens.cached(token)
        if not known:
            if limited and (wait := self._take_unknown(environ)):
                return None, wait
            try:
                principal = tokens.principal_for(token)
            except Exception:  # database away and the token not cached: Flask answers 503 later
                return None, 0.0
            if principal is not None and limited:
                self.limiter.refund(self._unknown_key(environ), self.limiter.anonymous)
        elif principal is None and limited:  # a token known to be invalid: an unknown caller
            environ[PRINCIPAL_KEY] = None
            return None, self._take_unknown(environ)
        environ[PRINCIPAL_KEY] = principal
        if principal is None or not limited:
            return principal, 0.0
        return principal, self.limiter.take(principal.client_id, self.limiter.limit_for(principal.name))

    @staticmethod
    def _unknown_key(environ) -> str:
        # Unknown callers share their address's bucket, so new random tokens do not get new buckets.
        return "addr:" + environ.get("REMOTE_ADDR", "?")

    def _take_unknown(self, environ) -> float:
        return self.limiter.take(self._unknown_key(environ), self.limiter.anonymous)

    def _too_many(self, start, wait: float, principal):
        limit = self.limiter.limit_for(principal.name) if principal else self.limiter.anonymous
        retry_after = retry_after_header(wait)
        body = json.dumps({
            "type": "urn:credit-service:problem:rate_limited", "title": "请求过于频繁", "status": 429,
            "detail": f"请求过于频繁：每个客户端每秒最多{limit.rate:g}次、瞬时最多{limit.burst:g}次，"
                      f"请在{retry_after}秒后重试。",
            "code": "rate_limited", "retry_after": int(retry_after),
        }, ensure_ascii=False).encode()
        start("429 Too Many Requests", [("Content-Type", "application/problem+json"),
                                        ("Content-Length", str(len(body))), ("Retry-After", retry_after)])
        return [body]

    def _observe(self, environ, status: str, seconds: float, principal) -> None:
        # Only bounded values become labels and log fields: whatever callers send, a few series.
        method = method_label(environ.get("REQUEST_METHOD", "?"))
        status = status_label(status)
        endpoint = environ.get(ENDPOINT_KEY) or UNMATCHED
        key = (method, endpoint, status)
        series = self._series.get(key)
        if series is None:
            series = self._series[key] = (REQUESTS.labels(method, endpoint, status), LATENCY.labels(method, endpoint))
        series[0].inc()
        series[1].observe(seconds)
        if not self.access_log:
            return
        status_field = int(status) if status.isdigit() else status
        duration_ms = round(seconds * 1000, 3)
        client = principal.name if principal is not None else None
        handler = direct_access_handler()
        if handler is not None:
            write_access_line(handler, environ.get(REQUEST_ID_KEY), method, endpoint, status_field, duration_ms, client)
        elif access_log.isEnabledFor(logging.INFO):
            fields = {"method": method, "endpoint": endpoint, "status": status_field, "duration_ms": duration_ms,
                      "client": client}
            # makeRecord + handle: Logger.info would also walk the stack for the caller's file and
            # line, which costs more than everything else here and says nothing about a request.
            access_log.handle(access_log.makeRecord(
                access_log.name, logging.INFO, "(access)", 0, "%s %s %s", (method, endpoint, status), None,
                extra=fields))


def _current_endpoint(environ) -> str:
    """What the watchdog may say about a request: its bounded method, route template and request id,
    never its path."""
    return (f"{method_label(environ.get('REQUEST_METHOD', '?'))} {environ.get(ENDPOINT_KEY) or UNMATCHED} "
            f"(request {environ.get(REQUEST_ID_KEY)})")
