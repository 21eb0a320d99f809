"""When an API token stops working (`credit-service clients create --expires`). Pure: `now` is passed in.

Two forms (docs/access.md):
- a date `YYYY-MM-DD`: the token works until that day begins in Asia/Shanghai (00:00), i.e. its last
  day of use is the day before;
- a duration from now: a whole number and a unit, `h` hours, `d` days, `w` weeks (`36h`, `90d`, `2w`).
"""
from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
_DURATION = re.compile(r"([1-9][0-9]{0,5})([hdw])")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_UNIT = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}


class ExpiryError(ValueError):
    pass


def parse_expiry(text: str, now: datetime) -> datetime:
    """The instant (aware, Asia/Shanghai) from which the token is refused; it must be after `now`."""
    text = text.strip()
    if match := _DURATION.fullmatch(text):
        expires = now + int(match.group(1)) * _UNIT[match.group(2)]
    elif _DATE.fullmatch(text):
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise ExpiryError(f"{text!r}: not a calendar date") from None
        expires = datetime.combine(day, time(0), SHANGHAI)
    else:
        raise ExpiryError(f"{text!r}: expected a date YYYY-MM-DD or a duration such as 12h, 90d, 2w")
    if expires <= now:
        raise ExpiryError(f"{text!r}: {expires.isoformat()} is not in the future")
    return expires.astimezone(SHANGHAI)


def as_shanghai(moment: datetime | None) -> datetime | None:
    """A stored instant, aware. SQLite keeps the wall time written (Asia/Shanghai, as the clock gives
    it) without the zone; PostgreSQL gives it back aware."""
    if moment is None:
        return None
    return moment.replace(tzinfo=SHANGHAI) if moment.tzinfo is None else moment.astimezone(SHANGHAI)


def expired(expires_at: datetime | None, now: datetime) -> bool:
    return expires_at is not None and now >= expires_at
