"""The settlement hot path, answered in front of Flask.

Settlement systems ask on every claim. Flask's routing, flask-smorest's wrappers and the request
context cost more than the answer itself (bench/README.md), so this WSGI middleware answers the
plain, well-formed, authorised status (GET …/status, POST /status/query) and batch requests directly
from the in-process index. Anything else — a missing or unknown token, a wrong role, a bad ID, a bad date, an odd body —
is handed to the Flask view unchanged, which gives the documented answer or problem+json. Both
paths call the same use cases (services/status_query.py), which ask the one access policy
(services/access.py); tests/api/test_fast_status.py checks they agree.
Cross-cutting concerns added to Flask (logging, metrics, rate limits) must be added here too.
"""
from __future__ import annotations

import io
import re
from datetime import date

import orjson

from ..domain.dates import parse_day
from ..domain.identity import id_number_problem
from ..services.status_query import batch_of, status_of
from .operations import ENDPOINT_KEY, PRINCIPAL_KEY

_STATUS_PATH = re.compile(r"/api/v1/subjects/(insured|physician|pharmacist)/([0-9]{17}[0-9X])/status")
_QUERY_PART = re.compile(r"on=[0-9]{4}-[0-9]{2}-[0-9]{2}|emergency=(?:true|false)")
BATCH_PATH = "/api/v1/status/batch"
QUERY_PATH = "/api/v1/status/query"
_QUERY_FIELDS = frozenset({"subject_type", "id_number", "on", "emergency"})
_MAX_QUERY_BYTES = 4096
STATUS_ROUTE = "/api/v1/subjects/<subject_type>/<id_number>/status"  # as Flask names it (metrics label)
_SUBJECT_TYPES = frozenset({"insured", "physician", "pharmacist"})
_HEADERS_BASE = [("Content-Type", "application/json")]
_MAX_BATCH_BYTES = 1 << 20


class FastStatusPath:
    def __init__(self, wsgi_app, container):
        self.wsgi_app = wsgi_app
        self.container = container

    def __call__(self, environ, start_response):
        body = None
        try:
            method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
            if method == "GET" and path.endswith("/status"):
                body, route = self._single(environ, path), STATUS_ROUTE
            elif method == "POST" and path == BATCH_PATH:
                body, route = self._batch(environ), BATCH_PATH
            elif method == "POST" and path == QUERY_PATH:
                body, route = self._query_body(environ), QUERY_PATH
        except Exception:  # never answer wrongly: let Flask handle (and report) it
            body = None
        if body is None:
            return self.wsgi_app(environ, start_response)
        environ[ENDPOINT_KEY] = route
        start_response("200 OK", _HEADERS_BASE + [("Content-Length", str(len(body)))])
        return [body]

    def _principal(self, environ):
        if PRINCIPAL_KEY in environ:  # the operations middleware already looked the token up
            return environ[PRINCIPAL_KEY]
        header = environ.get("HTTP_AUTHORIZATION", "")
        if not header.startswith("Bearer "):
            return None
        return self.container.tokens.principal_for(header[7:].strip())

    def _asked(self, on) -> date | None:
        """The day asked about (none given: today), if well-formed and within the lawful range; else None:
        Flask answers 422."""
        c = self.container
        if on is None:
            return c.clock.today()
        day = parse_day(on)
        return day if day is not None and c.dates.may_ask(day, c.clock.today()) else None

    def _query(self, query: str) -> tuple[date, bool | None] | None:
        """`on` and `emergency` (each at most once), or None for anything else."""
        parts = query.split("&") if query else []
        if len(parts) > 2 or not all(_QUERY_PART.fullmatch(p) for p in parts):
            return None
        values = dict(p.split("=") for p in parts)
        if len(values) != len(parts):
            return None
        day = self._asked(values.get("on"))
        emergency = values["emergency"] == "true" if "emergency" in values else None
        return None if day is None else (day, emergency)

    def _single(self, environ, path: str) -> bytes | None:
        match = _STATUS_PATH.fullmatch(path)
        if match is None:
            return None
        subject_type, id_number = match.groups()
        principal = self._principal(environ)
        if not self._may_read(principal, subject_type, id_number):
            return None
        query = self._query(environ.get("QUERY_STRING", ""))
        if query is None:
            return None
        return self._answer(principal, subject_type, id_number, *query)

    def _query_body(self, environ) -> bytes | None:
        """POST /api/v1/status/query with a plain, valid body; anything else is Flask's."""
        raw = self._json_body(environ, _MAX_QUERY_BYTES)
        if raw is None:
            return None
        principal = self._principal(environ)
        body = orjson.loads(raw)
        if not isinstance(body, dict) or not body.keys() <= _QUERY_FIELDS:
            return None
        subject_type, id_number = body.get("subject_type"), body.get("id_number")
        if subject_type not in _SUBJECT_TYPES or not self._may_read(principal, subject_type, id_number):
            return None
        on, emergency = body.get("on"), body.get("emergency")
        day = self._asked(on) if "on" not in body or isinstance(on, str) else None
        if day is None or ("emergency" in body and not isinstance(emergency, bool)):
            return None
        return self._answer(principal, subject_type, id_number, day, emergency)

    @staticmethod
    def _may_read(principal, subject_type: str, id_number) -> bool:
        """A caller and a well-formed number; whether this caller may read it is the use case's to say
        (status_of: a refusal raises, and Flask answers it)."""
        return principal is not None and id_number_problem(id_number) is None

    def _answer(self, principal, subject_type: str, id_number: str, day: date, emergency: bool | None) -> bytes:
        return orjson.dumps(status_of(principal, self.container, subject_type, id_number, day, emergency))

    @staticmethod
    def _json_body(environ, limit: int) -> bytes | None:
        """The body of a JSON request (as Flask would parse it), kept readable should Flask take over."""
        length = int(environ.get("CONTENT_LENGTH") or 0)
        mimetype = environ.get("CONTENT_TYPE", "").split(";", 1)[0].strip().lower()
        if not 0 < length <= limit or environ.get("QUERY_STRING") or mimetype != "application/json":
            return None
        raw = environ["wsgi.input"].read(length)
        environ["wsgi.input"] = io.BytesIO(raw)
        return raw

    def _batch(self, environ) -> bytes | None:
        raw = self._json_body(environ, _MAX_BATCH_BYTES)
        if raw is None:
            return None
        principal = self._principal(environ)
        if principal is None:
            return None
        body = orjson.loads(raw)
        if not isinstance(body, dict) or body.keys() - {"on", "subjects"}:
            return None
        subjects = body.get("subjects")
        if not isinstance(subjects, list) or len(subjects) > self.container.settings.batch_max_subjects:
            return None
        on = body.get("on")
        day = self._asked(on) if on is None or isinstance(on, str) else None
        if day is None:
            return None
        return orjson.dumps(batch_of(principal, self.container, _plain_subjects(subjects), day))


class _NotPlain(Exception):
    """An item the fast path does not answer: Flask does (and explains what is wrong with it)."""


def _plain_subjects(items: list):
    for item in items:
        if not isinstance(item, dict) or len(item) != 2:
            raise _NotPlain()
        subject_type, id_number = item.get("subject_type"), item.get("id_number")
        if subject_type not in _SUBJECT_TYPES or id_number_problem(id_number):
            raise _NotPlain()
        yield subject_type, id_number
