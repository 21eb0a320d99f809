"""The settlement hot path, answered in front of Flask.

Settlement systems ask on every claim. Flask's routing, flask-smorest's wrappers and the request
context cost more than the answer itself (bench/README.md), so this WSGI middleware answers the
plain, well-formed, authorised status (GET …/status, POST /status/query) and batch requests directly
from the in-process index. Anything else — a missing or unknown token, a wrong role, a bad ID, a bad date, an odd body —
is handed to the Flask view unchanged, which gives the documented answer or problem+json. Both
paths build the answer with the same functions (tests/api/test_fast_status.py checks they agree).
Cross-cutting concerns added to Flask (logging, metrics, rate limits) must be added here too.
"""
from __future__ import annotations

import io
import re
from datetime import date

import orjson

from ..domain.identity import id_number_problem, mask_id_number
from ..domain.status import status_on
from .operations import ENDPOINT_KEY, PRINCIPAL_KEY
from .serializers import status_json

_STATUS_PATH = re.compile(r"/api/v1/subjects/(insured|physician|pharmacist)/([0-9]{17}[0-9X])/status")
_ON_QUERY = re.compile(r"on=([0-9]{4}-[0-9]{2}-[0-9]{2})")
_QUERY_PART = re.compile(r"on=[0-9]{4}-[0-9]{2}-[0-9]{2}|emergency=(?:true|false)")
BATCH_PATH = "/api/v1/status/batch"
QUERY_PATH = "/api/v1/status/query"
_QUERY_FIELDS = frozenset({"subject_type", "id_number", "on", "emergency"})
_MAX_QUERY_BYTES = 4096
STATUS_ROUTE = "/api/v1/subjects/<subject_type>/<id_number>/status"  # as Flask names it (metrics label)
_READERS = frozenset({"settlement", "staff", "admin"})
_SUBJECT_TYPES = frozenset({"insured", "physician", "pharmacist"})
_FULL_ID = frozenset({"staff", "admin"})
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

    def _day(self, query: str) -> date | None:
        if not query:
            return self.container.clock.today()
        match = _ON_QUERY.fullmatch(query)
        return self._asked(date.fromisoformat(match.group(1))) if match else None  # ValueError → Flask answers

    def _asked(self, day: date) -> date | None:
        """The day, if within the lawful range (LawfulDates.query_problem, inlined); else None: Flask answers 422."""
        dates = self.container.dates
        if dates.earliest <= day and (day - self.container.clock.today()).days <= dates.days_ahead:
            return day
        return None

    def _query(self, query: str) -> tuple[date, bool | None] | None:
        """`on` and `emergency` (each at most once), or None for anything else."""
        parts = query.split("&") if query else []
        if len(parts) > 2 or not all(_QUERY_PART.fullmatch(p) for p in parts):
            return None
        values = dict(p.split("=") for p in parts)
        if len(values) != len(parts):
            return None
        day = self._day(f"on={values['on']}" if "on" in values else "")
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
        day = self.container.clock.today() if "on" not in body else (
            self._asked(date.fromisoformat(on)) if isinstance(on, str) and len(on) == 10 else None)
        if day is None or ("emergency" in body and not isinstance(emergency, bool)):
            return None
        return self._answer(principal, subject_type, id_number, day, emergency)

    def _may_read(self, principal, subject_type: str, id_number) -> bool:
        """A well-formed number, and a role that may read it (a person: only their own)."""
        if principal is None or id_number_problem(id_number) is not None:
            return False
        return principal.role in _READERS or (
            principal.role == "person"
            and principal.subject_type == subject_type
            and principal.subject_id_number == self.container.keys.lookup_key(subject_type, id_number))

    def _answer(self, principal, subject_type: str, id_number: str, day: date, emergency: bool | None) -> bytes:
        facts = self.container.index.get(subject_type, id_number)
        shown = id_number if principal.role in _FULL_ID else mask_id_number(id_number)
        return orjson.dumps(status_json(subject_type, shown, status_on(subject_type, facts, day, emergency=emergency,
                                                                       rules=self.container.rules)))

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
        if principal is None or principal.role not in _READERS:
            return None
        body = orjson.loads(raw)
        if not isinstance(body, dict) or body.keys() - {"on", "subjects"}:
            return None
        subjects = body.get("subjects")
        if not isinstance(subjects, list) or len(subjects) > self.container.settings.batch_max_subjects:
            return None
        on = body.get("on")
        day = self.container.clock.today() if on is None else (
            self._asked(date.fromisoformat(on)) if isinstance(on, str) and len(on) == 10 else None)
        if day is None:
            return None
        facts_of, full_id, rules = self.container.index.lookup(), principal.role in _FULL_ID, self.container.rules
        # Subjects without measures share a few facts objects (one per set of record years, and CLEAN),
        # so their answer differs only in the number: compute it once per request and copy it.
        shared: dict[tuple[str, int], dict] = {}
        results = []
        for item in subjects:
            if not isinstance(item, dict) or len(item) != 2:
                return None
            subject_type, id_number = item.get("subject_type"), item.get("id_number")
            if subject_type not in ("insured", "physician", "pharmacist") or id_number_problem(id_number):
                return None
            shown = id_number if full_id else mask_id_number(id_number)
            facts = facts_of((subject_type, id_number))
            if facts.measures:
                results.append(status_json(subject_type, shown, status_on(subject_type, facts, day, rules=rules)))
                continue
            key = (subject_type, id(facts))
            template = shared.get(key)
            if template is None:
                template = shared[key] = status_json(subject_type, "", status_on(subject_type, facts, day, rules=rules))
            answer = template.copy()
            answer["id_number"] = shown
            results.append(answer)
        return orjson.dumps({"results": results})
