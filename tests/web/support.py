"""Helpers for the web doors' tests: a clock that moves by minutes, the CSRF token of a page, signing in."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from credit_service.clock import SHANGHAI

PASSWORD = "correct horse battery staple"


@dataclass
class MovingClock:
    """now() stays where the test puts it (advance() moves it); today() follows now()."""

    moment: datetime = field(default_factory=lambda: datetime(2026, 11, 26, 9, 0, tzinfo=SHANGHAI))

    def now(self) -> datetime:
        return self.moment

    def today(self) -> date:
        return self.moment.date()

    def advance(self, **delta) -> None:
        self.moment += timedelta(**delta)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or \
        re.search(r'value="([^"]+)"[^>]*name="csrf_token"', html)
    assert found, "the page has no csrf_token field"
    return found.group(1)


def sign_in(client, username: str, password: str = PASSWORD, **extra):
    token = csrf_of(client.get("/console/login").get_data(as_text=True))
    return client.post("/console/login", data={"username": username, "password": password, "csrf_token": token,
                                               **extra})


def cookie(response, name: str) -> str | None:
    for header in response.headers.getlist("Set-Cookie"):
        if header.startswith(name + "="):
            return header
    return None
