"""The joint-punishment list (失信联合惩戒对象名单, 第八条第四项、第九条第五项) as exported to the public
credit platform: who is listed, since when, under which article; additions and removals since a date.
Whole identity numbers and names for admin only; staff get their own region's, masked."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from ..clock import SHANGHAI, Clock
from ..domain.identity import mask_id_number
from ..domain.rules import RuleBook
from . import access
from .clients import Principal
from .errors import Invalid


@dataclass(frozen=True)
class Entry:
    change: str  # "listed" | "added" | "removed"
    measure_id: str
    subject_type: str
    id_number: str
    name: str | None
    region: str
    listed_on: date
    article: str
    basis: str  # the document and article, in words
    rule_set: str
    recorded_on: date
    removed_on: date | None


@dataclass(frozen=True)
class JointList:
    as_of: date
    since: date | None
    region: str | None
    full_numbers: bool
    entries: tuple[Entry, ...]


def joint_punishment_list(uow, principal: Principal, since: date | None, region: str | None, *, rules: RuleBook,
                          clock: Clock) -> JointList:
    """Without `since`: everyone listed today. With it: the additions and the removals since that day."""
    region = access.region_for(principal, access.JOINT_LIST_READ, region)
    full = access.sees_full_numbers(principal, access.JOINT_LIST_READ)
    today = clock.today()
    if since is not None and since > today:
        raise Invalid("since 不能晚于今天。", errors={"since": [f"不能晚于{today.isoformat()}。"]})
    uow = uow.reading()
    with uow:
        if since is None:
            found = [("listed", x) for x in uow.listings.current(region, today)]
        else:
            since_at = datetime(since.year, since.month, since.day, tzinfo=SHANGHAI)
            found = ([("added", x) for x in uow.listings.added_since(region, since, since_at)]
                     + [("removed", x) for x in uow.listings.removed_since(region, since, since_at)])
        numbers = uow.listings.numbers(x.lookup_key for _, x in found)
    entries = []
    for change, x in found:
        number = numbers.get(x.lookup_key, "")
        rs = rules.get(x.rule_set)
        entries.append(Entry(
            change=change, measure_id=x.measure_id, subject_type=x.subject_type,
            id_number=number if full else mask_id_number(number), name=x.name if full else _mask_name(x.name),
            region=x.region, listed_on=x.listed_on, article=x.article,
            basis=f"{rs.citation(x.article)}" if rs else x.article, rule_set=x.rule_set,
            recorded_on=x.recorded_at.astimezone(SHANGHAI).date() if x.recorded_at.tzinfo else x.recorded_at.date(),
            removed_on=x.revoked_on if change == "removed" else None))
    return JointList(as_of=today, since=since, region=region, full_numbers=full, entries=tuple(entries))


def _mask_name(name: str | None) -> str | None:
    return name[0] + "*" * (len(name) - 1) if name else name


CSV_COLUMNS = ("change", "measure_id", "subject_type", "id_number", "name", "region", "listed_on", "article", "basis",
               "rule_set", "recorded_on", "removed_on")


def entry_dict(e: Entry) -> dict:
    return {"measure_id": e.measure_id, "subject_type": e.subject_type, "id_number": e.id_number, "name": e.name,
            "region": e.region, "listed_on": e.listed_on.isoformat(), "article": e.article, "basis": e.basis,
            "rule_set": e.rule_set, "recorded_on": e.recorded_on.isoformat(),
            "removed_on": e.removed_on.isoformat() if e.removed_on else None}


def as_dict(jl: JointList) -> dict:
    """The JSON answer: `listed` without `since`; `additions` and `removals` with it."""
    return {"as_of": jl.as_of.isoformat(), "since": jl.since.isoformat() if jl.since else None, "region": jl.region,
            "full_numbers": jl.full_numbers,
            "listed": [entry_dict(e) for e in jl.entries if e.change == "listed"],
            "additions": [entry_dict(e) for e in jl.entries if e.change == "added"],
            "removals": [entry_dict(e) for e in jl.entries if e.change == "removed"]}


def as_csv(jl: JointList) -> bytes:
    import csv
    import io
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for e in jl.entries:
        row = entry_dict(e)
        writer.writerow([e.change] + ["" if row[c] is None else row[c] for c in CSV_COLUMNS[1:]])
    return ("\ufeff" + out.getvalue()).encode("utf-8")
