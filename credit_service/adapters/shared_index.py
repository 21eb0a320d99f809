"""The status index as one file per node, mapped read-only by its workers (issue 13 item 7) — the snapshot.

Today every worker holds every subject's facts as Python objects (~800 B a subject). A snapshot holds
them packed in one file that every worker of the node maps (`mmap`, read-only, shared pages): the
memory is paid once per node, and a worker that maps it is ready at once.

Layout (little-endian):
    header   magic "CSIDX\\x00\\x00\\x01", then u64: subjects, slots, feed head, heap offset, heap size,
             string table offset, string table size
    slots    `slots` × 20 bytes: the subject's key hash (16 bytes, BLAKE2b of subject type and lookup
             key) and u32 the offset of its facts in the heap (0: empty slot); open addressing, linear
             probing, at most half full
    heap     the facts, each encoded once (subjects with the same facts share them: most subjects are
             "these record years, nothing else")
    strings  kinds, regions, articles and any measure id that is not 32 hex digits, JSON list

The key hash is 128 bits: two of 100 million subjects share one with a probability of about 10⁻²³.
The facts decode to SubjectFacts equal to those the in-memory index holds (tests/integration/
test_shared_index.py compares every subject of a generated record); an unreadable subject decodes to
status_index.UNREADABLE itself. Decoded facts are kept in a small per-process cache.
"""
from __future__ import annotations

import json
import mmap
import os
import re
import struct
from datetime import date
from hashlib import blake2b
from pathlib import Path
from typing import Iterable, Mapping

from ..domain.status import MeasureFact, SubjectFacts

MAGIC = b"CSIDX\x00\x00\x01"
_HEADER = struct.Struct("<8s7Q")
_SLOT = struct.Struct("<16sI")
_TABLE_AT = _HEADER.size
_FACTS = struct.Struct("<BHHHH")  # flags, measures, record years, recommended years, points
_MEASURE = struct.Struct("<B16sHHHiiiB")  # id form, id, kind, region, article, starts, restores, again, unrepaired
_YEAR = struct.Struct("<i")
_POINTS = struct.Struct("<iq")
_UNREADABLE = 1
_FACTS_SIZE, _MEASURE_SIZE = _FACTS.size, _MEASURE.size
_NO_YEARS: frozenset[int] = frozenset()
_HEX32 = re.compile(r"[0-9a-f]{32}")
MAX_LOAD = 0.5  # linear probing: a look-up of an absent subject reads 2.5 slots on average
CACHE_LIMIT = 100_000


def key_hash(subject_type: str, lookup_key: str) -> bytes:
    return blake2b(f"{subject_type}\x00{lookup_key}".encode(), digest_size=16).digest()


def _day(value: date | None) -> int:
    return 0 if value is None else value.toordinal()


def _from_day(value: int) -> date | None:
    return None if value == 0 else date.fromordinal(value)


class _Strings:
    def __init__(self):
        self.items: list[str] = []
        self._index: dict[str, int] = {}

    def __call__(self, text: str) -> int:
        index = self._index.get(text)
        if index is None:
            index = self._index[text] = len(self.items)
            if index > 0xFFFF:
                raise ValueError("more than 65,536 distinct strings in a status index snapshot")
            self.items.append(text)
        return index


def _encode(facts: SubjectFacts, unreadable: bool, strings: _Strings) -> bytes:
    parts = [_FACTS.pack(_UNREADABLE if unreadable else 0, len(facts.measures), len(facts.record_years),
                         len(facts.recommended_years), len(facts.points))]
    for m in facts.measures:
        if _HEX32.fullmatch(m.measure_id):
            form, ident = 0, bytes.fromhex(m.measure_id)
        else:
            form, ident = 1, strings(m.measure_id).to_bytes(16, "little")
        parts.append(_MEASURE.pack(form, ident, strings(m.kind), strings(m.region), strings(m.article),
                                   _day(m.starts_on), _day(m.restores_on), _day(m.reregistration_from),
                                   1 if m.unrepaired else 0))
    parts += [_YEAR.pack(y) for y in sorted(facts.record_years)]
    parts += [_YEAR.pack(y) for y in sorted(facts.recommended_years)]
    parts += [_POINTS.pack(y, p) for y, p in facts.points]
    return b"".join(parts)


def write_snapshot(path: Path, facts: Mapping[tuple[str, str], SubjectFacts], head: int,
                   unreadable_marker: SubjectFacts | None = None) -> int:
    """Write the snapshot of `facts` (as the in-memory index holds them: `unreadable_marker` stands for an
    unreadable subject) as of feed sequence `head`, atomically (a temporary file renamed). Returns its size."""
    slots = max(1, int(len(facts) / MAX_LOAD) + 1)
    table = bytearray(slots * _SLOT.size)
    strings = _Strings()
    heap = bytearray(b"\x00")  # offset 0 means an empty slot
    shared: dict[bytes, int] = {}
    # Most subjects share one facts object with many others (load_subject_facts shares "these record
    # years, nothing else"): each object is encoded once, not once per subject. The object is kept with
    # its offset, so that its id cannot be reused by another while this runs.
    encoded: dict[int, tuple[int, SubjectFacts]] = {}
    used = bytearray(slots)  # 1: the slot is taken (cheaper to test than the slot's offset bytes)
    pack_into, slot_size = _SLOT.pack_into, _SLOT.size
    for (subject_type, key), value in facts.items():
        known = encoded.get(id(value))
        if known is None:
            blob = _encode(value, value is unreadable_marker and unreadable_marker is not None, strings)
            offset = shared.get(blob)
            if offset is None:
                offset = shared[blob] = len(heap)
                heap += blob
            encoded[id(value)] = (offset, value)
        else:
            offset = known[0]
        digest = blake2b(f"{subject_type}\x00{key}".encode(), digest_size=16).digest()  # key_hash, inlined
        slot = int.from_bytes(digest[:8], "little") % slots
        while used[slot]:
            if table[slot * slot_size:slot * slot_size + 16] == digest:
                raise ValueError("two subjects with one key hash in a status index snapshot")
            slot = slot + 1 if slot + 1 < slots else 0
        used[slot] = 1
        pack_into(table, slot * slot_size, digest, offset)
    if len(heap) > 0xFFFFFFFF:
        raise ValueError("status index snapshot heap over 4 GiB")
    names = json.dumps(strings.items, ensure_ascii=False).encode()
    heap_at = _HEADER.size + len(table)
    strings_at = heap_at + len(heap)
    header = _HEADER.pack(MAGIC, len(facts), slots, head, heap_at, len(heap), strings_at, len(names))
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as out:
        out.write(header)
        out.write(table)
        out.write(heap)
        out.write(names)
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, path)
    return strings_at + len(names)


class Snapshot:
    """A snapshot file mapped read-only. `get` answers like the in-memory index's dict."""

    def __init__(self, path: Path, unreadable_marker: SubjectFacts):
        with open(path, "rb") as f:
            self._map = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)
        magic, self.subjects, self._slots, self.head, heap_at, heap_size, strings_at, strings_size = \
            _HEADER.unpack_from(self._map, 0)
        if magic != MAGIC:
            raise ValueError(f"{path}: not a status index snapshot of this version")
        self.path, self.size = Path(path), len(self._map)
        self._heap_at = heap_at
        self._strings = json.loads(self._map[strings_at:strings_at + strings_size].decode())
        self._unreadable = unreadable_marker
        self._cache: dict[int, SubjectFacts] = {}
        self._year_sets: dict[bytes, frozenset[int]] = {}

    def __len__(self) -> int:
        return self.subjects

    def get(self, key: tuple[str, str], default=None):
        digest = blake2b(f"{key[0]}\x00{key[1]}".encode(), digest_size=16).digest()  # key_hash, inlined
        slots, view, unpack = self._slots, self._map, _SLOT.unpack_from
        slot = int.from_bytes(digest[:8], "little") % slots
        while True:
            held, offset = unpack(view, _TABLE_AT + slot * 20)
            if offset == 0:
                return default
            if held == digest:
                break
            slot = slot + 1 if slot + 1 < slots else 0
        facts = self._cache.get(offset)
        if facts is None:
            if len(self._cache) >= CACHE_LIMIT:
                self._cache.clear()
            facts = self._cache[offset] = self._decode(offset)
        return facts

    def _decode(self, offset: int) -> SubjectFacts:
        # The hot part of a look-up not cached yet: positional arguments, no helper calls, and the few
        # distinct year sets made once (a dict keyed by their bytes).
        at = self._heap_at + offset
        view, strings, day = self._map, self._strings, date.fromordinal
        flags, n_measures, n_years, n_recommended, n_points = _FACTS.unpack_from(view, at)
        if flags & _UNREADABLE:
            return self._unreadable
        at += _FACTS_SIZE
        measures = []
        for _ in range(n_measures):
            form, ident, kind, region, article, starts, restores, again, unrepaired = _MEASURE.unpack_from(view, at)
            at += _MEASURE_SIZE
            measures.append(MeasureFact(ident.hex() if form == 0 else strings[int.from_bytes(ident, "little")],
                                        strings[kind], strings[region], day(starts) if starts else None,
                                        day(restores) if restores else None, bool(unrepaired),
                                        day(again) if again else None, strings[article]))
        years = self._year_set(view, at, n_years)
        at += 4 * n_years
        recommended = self._year_set(view, at, n_recommended)
        at += 4 * n_recommended
        points = tuple(_POINTS.unpack_from(view, at + _POINTS.size * i) for i in range(n_points))
        return SubjectFacts(tuple(measures), years, recommended, points)

    def _year_set(self, view, at: int, n: int) -> frozenset[int]:
        if n == 0:
            return _NO_YEARS
        raw = view[at:at + 4 * n]
        years = self._year_sets.get(raw)
        if years is None:
            if len(self._year_sets) >= CACHE_LIMIT:
                self._year_sets.clear()
            years = self._year_sets[raw] = frozenset(_YEAR.unpack_from(raw, 4 * i)[0] for i in range(n))
        return years

    def keys_hashed(self) -> Iterable[bytes]:
        """Every key hash in the snapshot (tests)."""
        for slot in range(self._slots):
            at = _HEADER.size + slot * 20
            if self._map[at + 16:at + 20] != b"\x00\x00\x00\x00":
                yield bytes(self._map[at:at + 16])


_DELETED = object()


class SharedFacts:
    """The snapshot plus this worker's changes since (from its own commits and the change feed): what
    the status index uses in place of its dict with CREDIT_SERVICE_INDEX_STORE=shared."""

    def __init__(self, snapshot: Snapshot):
        self.snapshot = snapshot
        self._overlay: dict = {}

    def get(self, key, default=None):
        value = self._overlay.get(key, self)
        if value is self:
            return self.snapshot.get(key, default)
        return default if value is _DELETED else value

    def __setitem__(self, key, value) -> None:
        self._overlay[key] = value

    def pop(self, key, default=None):
        value = self.get(key, _DELETED)
        self._overlay[key] = _DELETED
        return default if value is _DELETED else value

    def __len__(self) -> int:
        size = len(self.snapshot)
        for key, value in self._overlay.items():
            held = self.snapshot.get(key) is not None
            size += (value is not _DELETED and not held) - (value is _DELETED and held)
        return size

    @property
    def overlay_size(self) -> int:
        return len(self._overlay)
