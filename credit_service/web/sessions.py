"""Server-side sessions for the two web doors; the token API keeps none (no cookie, no lookup).

The cookie holds a random id; the `web_sessions` table holds its SHA-256, so a copy of the table
opens no session. A session ends when its row is gone: logout, `users disable`, the idle timeout or
the absolute timeout (both checked on every request against the injected clock).
"""
from __future__ import annotations

import hashlib
import ipaddress
import json
import secrets
from datetime import datetime, timedelta, timezone

from flask.sessions import SessionInterface, SessionMixin
from sqlalchemy import delete, or_, select, update
from werkzeug.datastructures import CallbackDict

from ..adapters.orm import StaffUserRow, WebSessionRow

CONSOLE, ME = "console", "me"
COOKIES = {CONSOLE: "cs_console", ME: "cs_me"}
PATHS = {CONSOLE: "/console/", ME: "/me/"}
TOUCH_EVERY = timedelta(seconds=15)  # last_seen_at is written at most this often, unless data changed


def door_of(path: str) -> str | None:
    if path.startswith("/console/") or path == "/console":
        return CONSOLE
    if path.startswith("/me/") or path == "/me":
        return ME
    return None


def _utc(moment: datetime) -> datetime:
    """SQLite gives back naive datetimes; every one stored here is UTC."""
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def _hash(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


class WebSession(CallbackDict, SessionMixin):
    """What Flask, Flask-WTF and Authlib see as `session`, plus who signed in."""

    def __init__(self, door: str, sid: str | None = None, data: dict | None = None):
        def on_update(_):
            self.modified = True
        super().__init__(data or {}, on_update)
        self.door = door
        self.sid = sid
        self.modified = False
        self.ended = False  # set by end(): the row is deleted and the cookie cleared
        self.rotated_from: str | None = None
        self.timed_out = False  # the browser brought a session that has ended (shown on the login page)
        self.user_id: str | None = None
        self.subject_type: str | None = None
        self.lookup_key: str | None = None
        self.created_at: datetime | None = None
        self.signed_in_at: datetime | None = None
        self.last_seen_at: datetime | None = None
        self.user: StaffUserRow | None = None  # loaded with the session (console)

    @property
    def signed_in(self) -> bool:
        return self.signed_in_at is not None

    def sign_in(self, *, user_id: str | None = None, subject_type: str | None = None,
                lookup_key: str | None = None, data: dict | None = None) -> None:
        """A new session id (the old one is deleted), with nothing of the anonymous session kept but `data`."""
        self.rotated_from = self.sid
        self.sid = None
        self.clear()
        self.update(data or {})
        self.user_id, self.subject_type, self.lookup_key = user_id, subject_type, lookup_key
        self.signed_in_at = None  # set when saved, from the clock
        self._signing_in = True
        self.modified = True

    def end(self) -> None:
        self.ended = True
        self.clear()


class SessionStore:
    def __init__(self, session_factory, clock, idle: timedelta, absolute: timedelta):
        self.session_factory = session_factory
        self.clock = clock
        self.idle = idle
        self.absolute = absolute

    def now(self) -> datetime:
        return _utc(self.clock.now())

    def load(self, door: str, sid: str) -> WebSession | None:
        """The live session of this cookie, or None (and its row deleted if it has timed out)."""
        now = self.now()
        with self.session_factory() as db:
            found = db.execute(select(WebSessionRow, StaffUserRow).outerjoin(
                StaffUserRow, StaffUserRow.id == WebSessionRow.user_id).where(
                WebSessionRow.id_hash == _hash(sid), WebSessionRow.door == door)).first()
            if found is None:
                return None
            row, user = found
            started = _utc(row.signed_in_at or row.created_at)
            alive = (now - _utc(row.last_seen_at) <= self.idle and now - started <= self.absolute
                     and (row.user_id is None or (user is not None and user.disabled_at is None)))
            if not alive:
                db.execute(delete(WebSessionRow).where(WebSessionRow.id_hash == row.id_hash))
                db.commit()
                return None
            db.expunge_all()
        session = WebSession(door, sid, json.loads(row.data or "{}"))
        session.user_id, session.subject_type, session.lookup_key = row.user_id, row.subject_type, row.lookup_key
        session.created_at, session.last_seen_at = _utc(row.created_at), _utc(row.last_seen_at)
        session.signed_in_at = _utc(row.signed_in_at) if row.signed_in_at else None
        session.user = user
        return session

    def save(self, session: WebSession) -> str | None:
        """Writes what changed; returns the new cookie value when the session got a new id."""
        now = self.now()
        with self.session_factory() as db:
            if session.rotated_from:
                db.execute(delete(WebSessionRow).where(WebSessionRow.id_hash == _hash(session.rotated_from)))
                session.rotated_from = None
            if session.ended:
                if session.sid:
                    db.execute(delete(WebSessionRow).where(WebSessionRow.id_hash == _hash(session.sid)))
                db.commit()
                return None
            new_sid = None
            if session.sid is None:
                new_sid = session.sid = secrets.token_urlsafe(32)
                if getattr(session, "_signing_in", False):
                    session.signed_in_at = now
                db.add(WebSessionRow(id_hash=_hash(new_sid), door=session.door, user_id=session.user_id,
                                     subject_type=session.subject_type, lookup_key=session.lookup_key,
                                     data=json.dumps(dict(session)), created_at=now,
                                     signed_in_at=session.signed_in_at, last_seen_at=now))
            elif session.modified:
                db.execute(update(WebSessionRow).where(WebSessionRow.id_hash == _hash(session.sid))
                           .values(data=json.dumps(dict(session)), last_seen_at=now))
            elif session.last_seen_at is None or now - session.last_seen_at >= TOUCH_EVERY:
                db.execute(update(WebSessionRow).where(WebSessionRow.id_hash == _hash(session.sid))
                           .values(last_seen_at=now))
            db.commit()
            return new_sid

    def purge_expired(self) -> int:
        """Rows of sessions nobody can use any more (run at each sign-in: the table stays small)."""
        now = self.now()
        with self.session_factory() as db:
            gone = db.execute(delete(WebSessionRow).where(or_(
                WebSessionRow.last_seen_at < now - self.idle,
                WebSessionRow.created_at < now - self.absolute))).rowcount
            db.commit()
            return gone


class WebSessions(SessionInterface):
    """Flask's session interface: a WebSession under /console/ and /me/, no session anywhere else."""

    def __init__(self, store: SessionStore, cookie_secure: str):
        self.store = store
        self.cookie_secure = cookie_secure  # "auto" | "true" | "false"

    def open_session(self, app, request):
        door = door_of(request.path)
        if door is None:
            return None  # the token API: Flask makes a null session, nothing is read or written
        sid = request.cookies.get(COOKIES[door])
        session = self.store.load(door, sid) if sid else None
        if session is None:
            session = WebSession(door)
            session.timed_out = sid is not None
        return session

    def save_session(self, app, session, response):
        if not isinstance(session, WebSession):
            return
        response.vary.add("Cookie")
        if session.sid is None and not session.ended and not session.modified:
            # Nothing to keep for a visitor who was given no form. A cookie of a session that has ended
            # is left alone: the login page it is sent to says so, then replaces it.
            return
        new_sid = self.store.save(session)
        if session.ended:
            self._clear_cookie(session, response)
        elif new_sid:
            response.set_cookie(COOKIES[session.door], new_sid, path=PATHS[session.door], httponly=True,
                                samesite="Lax", secure=self._secure())

    def _clear_cookie(self, session: WebSession, response) -> None:
        response.delete_cookie(COOKIES[session.door], path=PATHS[session.door], httponly=True, samesite="Lax",
                               secure=self._secure())

    def _secure(self) -> bool:
        if self.cookie_secure != "auto":
            return self.cookie_secure == "true"
        from flask import request
        return request.scheme == "https" or not _is_loopback(request.host)


def _is_loopback(host: str) -> bool:
    name = host.rsplit(":", 1)[0] if not host.startswith("[") else host[1:].split("]", 1)[0]
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False
