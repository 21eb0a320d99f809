"""Issue 13 item 7: the status index snapshot (adapters/shared_index.py) answers exactly what the in-memory
index answers — for every subject of a generated record (both databases), and for generated facts of
every shape (hypothesis), unreadable subjects and subjects it does not hold included."""
from __future__ import annotations

import dataclasses
import random
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings as hypothesis_settings, strategies as st

from credit_service.adapters import records
from credit_service.adapters.shared_index import (FullBuildNeeded, SharedFacts, Snapshot, update_snapshot,
                                                   write_snapshot)
from credit_service.adapters.status_index import UNREADABLE
from credit_service.domain.status import CLEAN, MeasureFact, SubjectFacts
from credit_service.services import incentives, intake
from tests.factories import id_number
from tests.unit_helpers import acting, violation_input


def generate_record(container, seed: int = 13, subjects: int = 240, first: int = 1) -> list[tuple[str, str]]:
    """Violations of many shapes for `subjects` people (some several, practitioners with points, a few
    recommended); returns (subject type, identity number) of each."""
    rng = random.Random(seed)
    rows, people = [], []
    for i in range(subjects):
        subject_type = rng.choice(["insured", "insured", "physician", "pharmacist"])
        number = id_number(seq=first + i)
        people.append((subject_type, number))
        for _ in range(rng.choice([1, 1, 2, 3])):
            determined = date(2024, 1, 5) + timedelta(days=rng.randrange(700))
            rows.append(violation_input(
                subject_type=subject_type, id_number=number, region=rng.choice(["370100", "370200", "370900"]),
                occurred_on=determined - timedelta(days=rng.randrange(1, 60)), determined_on=determined,
                fund_loss=Decimal(rng.choice(["800.00", "12000.00", "60000.00", "150000.00", "420000.00"])),
                handling=rng.choice(["administrative", "agreement"]), fraud=rng.random() < 0.1,
                points=rng.choice([None, 3, 6, 12]) if subject_type != "insured" else None))
    rng.shuffle(rows)
    for start in range(0, len(rows), 50):
        intake.record_violations(container.uow(), acting(), rows[start:start + 50], container.rules, container.clock)
    for subject_type, number in [p for p in people if p[0] != "insured"][:10]:
        incentives.recommend_expert(container.uow(), container.clock, acting(), subject_type, number, 2025,
                                    "370100", "优秀")
    return people


def test_every_subject_of_a_generated_record_is_answered_alike(container, tmp_path):
    generate_record(container)
    unreadable: set = set()
    with container.engine.connect() as connection:
        facts = records.load_subject_facts(connection, unreadable=unreadable)
    assert len(facts) >= 150 and any(f.measures for f in facts.values()) and any(f.points for f in facts.values())
    assert any(f.recommended_years for f in facts.values())
    some = next(iter(facts))
    facts[some] = UNREADABLE  # as the index marks a subject with a row it cannot read

    path = tmp_path / "index.snapshot"
    size = write_snapshot(path, facts, head=42, unreadable_marker=UNREADABLE)
    snapshot = Snapshot(path, UNREADABLE)
    assert (len(snapshot), snapshot.head, snapshot.size) == (len(facts), 42, size)
    for key, expected in facts.items():
        got = snapshot.get(key, CLEAN)
        assert got == expected, key
        assert (got is UNREADABLE) == (expected is UNREADABLE)
    assert snapshot.get(("insured", "not-a-key"), CLEAN) is CLEAN
    assert snapshot.get((some[0], some[1] + "x"), CLEAN) is CLEAN
    if some[0] != "physician":
        assert snapshot.get(("physician", some[1]), CLEAN) is CLEAN  # the subject type is part of the key


_days = st.one_of(st.none(), st.dates(min_value=date(1, 1, 2), max_value=date(9999, 12, 31)))
_measures = st.builds(
    MeasureFact, measure_id=st.one_of(st.text(alphabet="0123456789abcdef", min_size=32, max_size=32),
                                      st.text(max_size=40)),
    kind=st.sampled_from(["settlement_suspension", "listing", "qualification_suspended", "x"]),
    region=st.text(alphabet="0123456789", min_size=6, max_size=6), starts_on=st.dates(),
    restores_on=_days, unrepaired=st.booleans(), reregistration_from=_days,
    article=st.sampled_from(["", "第九条第三项", "第十条"]))
_years = st.frozensets(st.integers(min_value=-(2 ** 31), max_value=2 ** 31 - 1), max_size=4)
_facts = st.builds(SubjectFacts, measures=st.lists(_measures, max_size=4).map(tuple), record_years=_years,
                   recommended_years=_years,
                   points=st.lists(st.tuples(st.integers(1900, 2100), st.integers(-10 ** 12, 10 ** 12)),
                                   max_size=3).map(lambda p: tuple(sorted(dict(p).items()))))
_keys = st.tuples(st.sampled_from(["insured", "physician", "pharmacist"]), st.text(min_size=1, max_size=50))


@hypothesis_settings(max_examples=60, deadline=None)
@given(st.dictionaries(_keys, st.one_of(_facts, st.just(UNREADABLE)), max_size=40), _keys)
def test_generated_facts_of_every_shape_come_back_equal(tmp_path_factory, facts, absent):
    path = tmp_path_factory.mktemp("snapshot") / "index.snapshot"
    write_snapshot(path, facts, head=0, unreadable_marker=UNREADABLE)
    snapshot = Snapshot(path, UNREADABLE)
    for key, expected in facts.items():
        got = snapshot.get(key, CLEAN)
        assert got == expected and (got is UNREADABLE) == (expected is UNREADABLE)
    if absent not in facts:
        assert snapshot.get(absent, CLEAN) is CLEAN


def test_changes_since_the_snapshot_are_answered_from_the_overlay(tmp_path):
    a, b, c = ("insured", "a"), ("insured", "b"), ("physician", "c")
    path = tmp_path / "index.snapshot"
    write_snapshot(path, {a: SubjectFacts(record_years=frozenset({2024})), b: SubjectFacts(record_years=frozenset({2025}))},
                   head=7, unreadable_marker=UNREADABLE)
    shared = SharedFacts(Snapshot(path, UNREADABLE))
    shared[a] = SubjectFacts(record_years=frozenset({2024, 2025}))  # changed
    assert shared.pop(b, None) == SubjectFacts(record_years=frozenset({2025}))  # gone (all revoked)
    shared[c] = UNREADABLE  # new
    assert shared.get(a, CLEAN).record_years == {2024, 2025}
    assert shared.get(b, CLEAN) is CLEAN and shared.pop(b, None) is None
    assert shared.get(c, CLEAN) is UNREADABLE
    assert len(shared) == 2 and shared.overlay_size == 3


# -- the snapshot is a function of the facts, and an update gives the bytes of a full build -----------------
TAG = bytes(range(16))


def _apply(facts: dict, changes: dict) -> dict:
    after = dict(facts)
    for key, value in changes.items():
        if value is None:
            after.pop(key, None)
        else:
            after[key] = value
    return after


@hypothesis_settings(max_examples=80, deadline=None)
@given(st.dictionaries(_keys, st.one_of(_facts, st.just(UNREADABLE)), max_size=40),
       st.dictionaries(_keys, st.one_of(st.none(), _facts, st.just(UNREADABLE)), max_size=12), st.randoms())
def test_an_updated_snapshot_is_byte_for_byte_the_full_build_of_the_same_facts(tmp_path_factory, facts, changes,
                                                                                rng):
    directory = tmp_path_factory.mktemp("snapshot")
    write_snapshot(directory / "previous", facts, head=3, unreadable_marker=UNREADABLE, keys_tag=TAG)
    after = _apply(facts, changes)
    shuffled = list(after.items())
    rng.shuffle(shuffled)  # the order the facts come in does not matter
    size = write_snapshot(directory / "full", dict(shuffled), head=9, unreadable_marker=UNREADABLE, keys_tag=TAG)
    full = (directory / "full").read_bytes()
    assert len(full) == size
    write_snapshot(directory / "again", after, head=9, unreadable_marker=UNREADABLE, keys_tag=TAG)
    assert (directory / "again").read_bytes() == full
    try:
        assert update_snapshot(directory / "previous", directory / "updated", changes, head=9,
                               unreadable_marker=UNREADABLE, keys_tag=TAG) == size
    except FullBuildNeeded:
        return  # a new or a vanished string, or another number of blocks: the caller builds in full
    assert (directory / "updated").read_bytes() == full


def _population(rng: random.Random, n: int, first: int = 0) -> dict:
    regions, kinds = ["370100", "370200", "370900"], ["settlement_suspension", "listing"]
    shared = [SubjectFacts(record_years=frozenset(y)) for y in ({2024}, {2025}, {2024, 2025})]
    facts = {}
    for i in range(first, first + n):
        key = (rng.choice(["insured", "insured", "physician"]), f"k1:{i:08d}")
        if rng.random() < 0.3:
            starts = date(2025, 1, 1) + timedelta(days=rng.randrange(400))
            facts[key] = SubjectFacts(
                measures=(MeasureFact(f"{rng.getrandbits(128):032x}", rng.choice(kinds), rng.choice(regions), starts,
                                      starts + timedelta(days=180), article="第九条第三项"),),
                record_years=frozenset({starts.year}), points=((starts.year, 6),) if key[0] == "physician" else ())
        else:
            facts[key] = rng.choice(shared)
    return facts


def test_updates_over_many_rounds_stay_the_full_build(tmp_path):
    """Subjects added, changed, removed and made unreadable round after round: every update is the full
    build's bytes, and the rounds are updates (no full build needed)."""
    rng = random.Random(5)
    facts = _population(rng, 2000)
    write_snapshot(tmp_path / "snapshot", facts, head=1, unreadable_marker=UNREADABLE, keys_tag=TAG)
    updated = 0
    for round_ in range(12):
        keys = list(facts)
        changes = {k: None for k in rng.sample(keys, 20)}  # every violation voided, every measure revoked
        changes.update({k: v for k, v in _population(rng, 30, first=2000 + 30 * round_).items()})  # new people
        changes.update({k: SubjectFacts(record_years=frozenset({2024, 2025})) for k in rng.sample(keys, 25)})
        changes[rng.choice(keys)] = UNREADABLE
        facts = _apply(facts, changes)
        size = update_snapshot(tmp_path / "snapshot", tmp_path / "snapshot", changes, head=round_ + 2,
                               unreadable_marker=UNREADABLE, keys_tag=TAG)
        updated += 1
        write_snapshot(tmp_path / "full", facts, head=round_ + 2, unreadable_marker=UNREADABLE, keys_tag=TAG)
        assert (tmp_path / "snapshot").read_bytes() == (tmp_path / "full").read_bytes()
        assert size == (tmp_path / "full").stat().st_size
    assert updated == 12
    snapshot = Snapshot(tmp_path / "snapshot", UNREADABLE)
    assert len(snapshot) == len(facts)
    for key, expected in facts.items():
        got = snapshot.get(key, CLEAN)
        assert got == expected and (got is UNREADABLE) == (expected is UNREADABLE)


def test_an_update_that_cannot_give_the_full_build_says_so(tmp_path):
    rng = random.Random(6)
    facts = _population(rng, 600)
    previous = tmp_path / "previous"
    write_snapshot(previous, facts, head=1, unreadable_marker=UNREADABLE, keys_tag=TAG)
    some = next(k for k, v in facts.items() if v.measures)
    new_region = SubjectFacts(measures=(dataclasses.replace(facts[some].measures[0], region="379999"),))
    cases = {
        "other lookup keys": ({}, bytes(16)),
        "names a string": ({some: new_region}, TAG),
        "no longer named": ({k: None for k, v in facts.items() if v.measures}, TAG),
        "number of blocks": ({k: None for k in list(facts)[:400]}, TAG),
    }
    for reason, (changes, tag) in cases.items():
        with pytest.raises(FullBuildNeeded, match=reason):
            update_snapshot(previous, tmp_path / "next", changes, head=2, unreadable_marker=UNREADABLE, keys_tag=tag)
    assert not (tmp_path / "next").exists()
    (tmp_path / "old-format").write_bytes(b"CSIDX\x00\x00\x01" + bytes(100))
    with pytest.raises(FullBuildNeeded, match="another format"):
        update_snapshot(tmp_path / "old-format", tmp_path / "next", {}, head=2, keys_tag=TAG)


def test_the_decoded_facts_cache_is_bounded_without_emptying_itself(tmp_path, monkeypatch):
    import credit_service.adapters.shared_index as shared_index
    facts = _population(random.Random(8), 400)
    write_snapshot(tmp_path / "snapshot", facts, head=1, unreadable_marker=UNREADABLE)
    monkeypatch.setattr(shared_index, "CACHE_LIMIT", 50)
    snapshot = Snapshot(tmp_path / "snapshot", UNREADABLE)
    keys = list(facts)
    sizes = []
    for key in keys:
        assert snapshot.get(key) == facts[key]
        sizes.append(len(snapshot._cache))
    assert max(sizes) == 50
    assert set(sizes[sizes.index(50):]) == {50}  # once full, it stays full: never emptied
    recent = keys[-10:]
    cached = dict(snapshot._cache)
    for key in recent:  # the most recent stay cached: asked again, nothing is decoded
        snapshot.get(key)
    assert dict(snapshot._cache) == cached
