"""The outermost WSGI layer: request ids, per-client rate limits, metrics and the access log.

It wraps the fast status path as well as Flask (create_app), so both are covered the same way. The
route template of a request (the metrics label and the access-log `endpoint`) is put into the WSGI
environ by whoever routes it: FastStatusPath for what it answers, a Flask before_request hook for the
rest (ENDPOINT_KEY). The raw path is never logged nor used as a label: it carries identity numbers.
"""
from __future__ import annotations

import itertools
import json
import logging
import os
import re
import time
import uuid

from ..logging_setup import request_id_var
from ..metrics import LATENCY, RATE_LIMITED, REQUESTS
from ..rate_limit import RateLimiter, retry_after_header

access_log = logging.getLogger("credit_service.access")

ENDPOINT_KEY = "credit_service.endpoint"
PRINCIPAL_KEY = "credit_service.principal"
REQUEST_ID_KEY = "credit_service.request_id"
UNMATCHED = "(unmatched)"
# Probes and scrapes are never limited: an operator must always be able to see what is going on.
_UNLIMITED = frozenset({"/healthz", "/readyz", "/metrics", "/ping"})
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")
_LOOKS_LIKE_ID_NUMBER = re.compile(r"[0-9]{17}[0-9Xx]")


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
        self._series: dict[tuple, tuple] = {}

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        request_id = request_id_from(environ.get("HTTP_X_REQUEST_ID"))
        environ[REQUEST_ID_KEY] = request_id
        context = request_id_var.set(request_id)
        status_line = ["500"]
        principal = None

        def start(status, headers, exc_info=None):
            status_line[0] = status
            headers.append(("X-Request-Id", request_id))
            return start_response(status, headers, exc_info)

        try:
            wait = 0.0
            principal = self._principal(environ)
            if self.limiter.default is not None or self.limiter.overrides:
                if environ.get("PATH_INFO") not in _UNLIMITED:
                    wait = self._wait(environ, principal)
            if wait:
                environ[ENDPOINT_KEY] = self.route_of(environ)
                RATE_LIMITED.labels(environ[ENDPOINT_KEY]).inc()
                return self._too_many(start, wait, principal)
            return self.wsgi_app(environ, start)
        finally:
            self._observe(environ, status_line[0][:3], time.perf_counter() - started, principal)
            request_id_var.reset(context)

    def _principal(self, environ):
        header = environ.get("HTTP_AUTHORIZATION", "")
        if not header.startswith("Bearer "):
            return None
        try:
            principal = self.container.tokens.principal_for(header[7:].strip())
        except Exception:  # database away and the token not cached: Flask answers 503 later
            return None
        environ[PRINCIPAL_KEY] = principal
        return principal

    def _wait(self, environ, principal) -> float:
        if principal is not None:
            key, limit = principal.client_id, self.limiter.limit_for(principal.name)
        else:  # unknown callers share their address's bucket, so new random tokens do not get new buckets
            key, limit = "addr:" + environ.get("REMOTE_ADDR", "?"), self.limiter.default
        return self.limiter.take(key, limit)

    def _too_many(self, start, wait: float, principal):
        limit = self.limiter.limit_for(principal.name if principal else None)
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
        method = environ.get("REQUEST_METHOD", "?")
        endpoint = environ.get(ENDPOINT_KEY) or UNMATCHED
        key = (method, endpoint, status)
        series = self._series.get(key)
        if series is None:
            series = self._series[key] = (REQUESTS.labels(method, endpoint, status),
                                          LATENCY.labels(method, endpoint))
        series[0].inc()
        series[1].observe(seconds)
        if self.access_log and access_log.isEnabledFor(logging.INFO):
            # makeRecord + handle: Logger.info would also walk the stack for the caller's file and
            # line, which costs more than everything else here and says nothing about a request.
            access_log.handle(access_log.makeRecord(
                access_log.name, logging.INFO, "(access)", 0, "%s %s %s", (method, endpoint, status), None,
                extra={"method": method, "endpoint": endpoint, "status": int(status) if status.isdigit() else status,
                       "duration_ms": round(seconds * 1000, 3),
                       "client": principal.name if principal is not None else None}))
