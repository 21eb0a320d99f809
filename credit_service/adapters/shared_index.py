"""The status index as one file per node, mapped read-only by its workers (issue 13 item 7) — the snapshot.

Today every worker holds every subject's facts as Python objects (~800 B a subject). A snapshot holds
them packed in one file that every worker of the node maps (`mmap`, read-only, shared pages): the
memory is paid once per node, and a worker that maps it is ready at once.

Layout (little-endian), a function of the facts alone (the same facts give the same bytes, whatever the
order they are given in — so that a snapshot brought up to date from the previous one can be, and is
tested to be, byte for byte the snapshot a full build from the records gives):
    header     magic "CSIDX\\x00\\x00\\x02", then u64: subjects, block bits, feed head, directory offset,
               blocks offset, blocks size, string table offset, string table size; then the keys tag
               (16 bytes: which lookup keys the subjects are keyed with; node_index.py)
    directory  2^bits × u64: a block's offset in the blocks (high 48 bits) and how many subjects it
               holds (low 16 bits)
    blocks     a subject's block is the top `bits` bits of its key hash (BLAKE2b of subject type and
               lookup key, 16 bytes); about 3–6 subjects a block. A block: its subjects' key hashes in
               ascending order (16 bytes each), then for each a u32 offset of its facts from the block's
               start, then the block's distinct facts (subjects of a block with the same facts — most
               are "these record years, nothing else" — share one copy)
    strings    kinds, regions, articles and any measure id that is not 32 hex digits, sorted, each with
               how many facts in the blocks name it (so that an update knows when one is no longer used):
               JSON [[text, uses], ...]

A look-up hashes the key, reads one directory entry and finds the hash among its block's few (one
`mmap.find`). The key hash is 128 bits: two of 100 million subjects share one with a probability of
about 10⁻²³. The facts decode to SubjectFacts equal to those the in-memory index holds (tests/integration/
test_shared_index.py compares every subject of a generated record); an unreadable subject decodes to
status_index.UNREADABLE itself. Decoded facts are kept in a bounded per-process cache (first in, first
out: full, it drops its oldest entry, never all of them).

`update_snapshot` writes the next snapshot from the previous one and the facts of the subjects changed
since: only the blocks of those subjects are encoded again; every other block is copied as bytes.
"""
from __future__ import annotations

import json
import mmap
import os
import re
import struct
import sys
from array import array
from collections import OrderedDict
from datetime import date
from hashlib import blake2b
from pathlib import Path
from typing import Iterable, Mapping

from ..domain.status import MeasureFact, SubjectFacts

MAGIC = b"CSIDX\x00\x00\x02"
_HEADER = struct.Struct("<8s8Q16s")
_TABLE_AT = _HEADER.size  # the directory
_DIRECTORY = struct.Struct("<Q")
_REF = struct.Struct("<I")
_FACTS = struct.Struct("<BHHHH")  # flags, measures, record years, recommended years, points
_MEASURE = struct.Struct("<B16sHHHiiiB")  # id form, id, kind, region, article, starts, restores, again, unrepaired
_YEAR = struct.Struct("<i")
_POINTS = struct.Struct("<iq")
_UNREADABLE = 1
_FACTS_SIZE, _MEASURE_SIZE = _FACTS.size, _MEASURE.size
_NO_YEARS: frozenset[int] = frozenset()
_HEX32 = re.compile(r"[0-9a-f]{32}")
PER_BLOCK = 6  # subjects per block at most on average (3–6): a look-up searches that many hashes
MAX_BLOCK = 0xFFFF
CACHE_LIMIT = 100_000
NO_KEYS_TAG = bytes(16)


class FullBuildNeeded(Exception):
    """The previous snapshot cannot be brought up to date by `update_snapshot` (the reason is the message)."""


def key_hash(subject_type: str, lookup_key: str) -> bytes:
    return blake2b(f"{subject_type}\x00{lookup_key}".encode(), digest_size=16).digest()


def block_bits(subjects: int) -> int:
    """log2 of the number of blocks: the smallest power of two that keeps blocks at PER_BLOCK or fewer on average."""
    return (max(1, -(-subjects // PER_BLOCK)) - 1).bit_length()


def _day(value: date | None) -> int:
    return 0 if value is None else value.toordinal()


def _from_day(value: int) -> date | None:
    return None if value == 0 else date.fromordinal(value)


def _strings_of(facts: SubjectFacts) -> Iterable[str]:
    for m in facts.measures:
        if not _HEX32.fullmatch(m.measure_id):
            yield m.measure_id
        yield m.kind
        yield m.region
        yield m.article


def _encode(facts: SubjectFacts, unreadable: bool, index: Mapping[str, int]) -> bytes:
    """The facts' bytes; `index`: the string table's numbers (KeyError for a string not in it)."""
    parts = [_FACTS.pack(_UNREADABLE if unreadable else 0, len(facts.measures), len(facts.record_years),
                         len(facts.recommended_years), len(facts.points))]
    for m in facts.measures:
        if _HEX32.fullmatch(m.measure_id):
            form, ident = 0, bytes.fromhex(m.measure_id)
        else:
            form, ident = 1, index[m.measure_id].to_bytes(16, "little")
        parts.append(_MEASURE.pack(form, ident, index[m.kind], index[m.region], index[m.article],
                                   _day(m.starts_on), _day(m.restores_on), _day(m.reregistration_from),
                                   1 if m.unrepaired else 0))
    parts += [_YEAR.pack(y) for y in sorted(facts.record_years)]
    parts += [_YEAR.pack(y) for y in sorted(facts.recommended_years)]
    parts += [_POINTS.pack(y, p) for y, p in facts.points]
    return b"".join(parts)


def _blob_size(view, at: int) -> int:
    _, measures, years, recommended, points = _FACTS.unpack_from(view, at)
    return _FACTS_SIZE + measures * _MEASURE_SIZE + 4 * (years + recommended) + _POINTS.size * points


def _string_refs(blob: bytes) -> list[int]:
    """The string table numbers these facts name, each as often as named."""
    n_measures = _FACTS.unpack_from(blob, 0)[1]
    refs: list[int] = []
    for i in range(n_measures):
        form, ident, kind, region, article = _MEASURE.unpack_from(blob, _FACTS_SIZE + i * _MEASURE_SIZE)[:5]
        if form:
            refs.append(int.from_bytes(ident, "little"))
        refs += (kind, region, article)
    return refs


def _block(entries: list[tuple[bytes, bytes]]) -> tuple[bytes, list[bytes]]:
    """A block's bytes from its (key hash, facts bytes) in ascending key hash order; and its distinct facts."""
    count = len(entries)
    if count > MAX_BLOCK:
        raise ValueError("more than 65,535 subjects in one block of a status index snapshot")
    at = 20 * count
    placed: dict[bytes, int] = {}
    blobs: list[bytes] = []
    refs = []
    previous = None
    for digest, blob in entries:
        if digest == previous:
            raise ValueError("two subjects with one key hash in a status index snapshot")
        previous = digest
        ref = placed.get(blob)
        if ref is None:
            ref = placed[blob] = at
            blobs.append(blob)
            at += len(blob)
        refs.append(ref)
    return b"".join([digest for digest, _ in entries] + [struct.pack(f"<{count}I", *refs)] + blobs), blobs


def _string_table(names: list[str], uses: list[int]) -> bytes:
    return json.dumps([[name, n] for name, n in zip(names, uses)], ensure_ascii=False, separators=(",", ":")).encode()


def _write(path: Path, header: bytes, directory: array, pieces: Iterable, strings: bytes) -> None:
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    if sys.byteorder != "little":
        directory = array("Q", directory)
        directory.byteswap()
    with open(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as out:
        out.write(header)
        out.write(directory.tobytes())
        for piece in pieces:
            out.write(piece)
        out.write(strings)
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, path)


def write_snapshot(path: Path, facts: Mapping[tuple[str, str], SubjectFacts], head: int,
                   unreadable_marker: SubjectFacts | None = None, keys_tag: bytes = NO_KEYS_TAG) -> int:
    """Write the snapshot of `facts` (as the in-memory index holds them: `unreadable_marker` stands for an
    unreadable subject) as of feed sequence `head`, atomically (a temporary file renamed). Returns its size."""
    # Most subjects share one facts object with many others (load_subject_facts shares "these record
    # years, nothing else"): each object is encoded once, not once per subject.
    distinct: dict[int, SubjectFacts] = {}
    for value in facts.values():
        distinct.setdefault(id(value), value)
    names = sorted({text for value in distinct.values() for text in _strings_of(value)})
    if len(names) > 0x10000:
        raise ValueError("more than 65,536 distinct strings in a status index snapshot")
    index = {name: i for i, name in enumerate(names)}
    encoded = {i: _encode(value, value is unreadable_marker and unreadable_marker is not None, index)
               for i, value in distinct.items()}
    bits = block_bits(len(facts))
    shift = 64 - bits
    blocks: list[list] = [[] for _ in range(1 << bits)]
    for (subject_type, key), value in facts.items():
        digest = blake2b(f"{subject_type}\x00{key}".encode(), digest_size=16).digest()  # key_hash, inlined
        blocks[int.from_bytes(digest[:8], "big") >> shift].append((digest, encoded[id(value)]))
    uses = [0] * len(names)
    directory = array("Q")
    pieces = []
    at = 0
    for entries in blocks:
        entries.sort()
        data, blobs = _block(entries)
        for blob in blobs:
            for ref in _string_refs(blob):
                uses[ref] += 1
        directory.append(at << 16 | len(entries))
        pieces.append(data)
        at += len(data)
    strings = _string_table(names, uses)
    blocks_at = _HEADER.size + 8 * len(directory)
    header = _HEADER.pack(MAGIC, len(facts), bits, head, _HEADER.size, blocks_at, at, blocks_at + at, len(strings),
                          keys_tag)
    _write(path, header, directory, pieces, strings)
    return blocks_at + at + len(strings)


def update_snapshot(previous: Path, path: Path, changes: Mapping[tuple[str, str], SubjectFacts | None], head: int,
                    unreadable_marker: SubjectFacts | None = None, keys_tag: bytes = NO_KEYS_TAG) -> int:
    """Write at `path` the snapshot `write_snapshot` would write for the facts of `previous` with `changes`
    applied (a subject's new facts, or None: it has none any more), as of feed sequence `head` — byte for
    byte — re-encoding only the blocks of the changed subjects. Raises FullBuildNeeded when it cannot: the
    previous snapshot is of another format or keys, a changed subject names a string the previous one does
    not hold, a string is no longer named, or the number of blocks changes. Returns the new size."""
    with open(previous, "rb") as f:
        view = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)
    try:
        if len(view) < _HEADER.size or view[:8] != MAGIC:
            raise FullBuildNeeded("the previous snapshot is of another format")
        _, subjects, bits, _, directory_at, blocks_at, blocks_size, strings_at, strings_size, tag = \
            _HEADER.unpack_from(view, 0)
        if tag != keys_tag:
            raise FullBuildNeeded("the previous snapshot is keyed with other lookup keys")
        table = json.loads(view[strings_at:strings_at + strings_size].decode())
        names, uses = [name for name, _ in table], [n for _, n in table]
        index = {name: i for i, name in enumerate(names)}
        blocks = 1 << bits
        directory = array("Q")
        directory.frombytes(view[directory_at:directory_at + 8 * blocks])
        if sys.byteorder != "little":
            directory.byteswap()
        shift = 64 - bits
        by_block: dict[int, dict[bytes, bytes | None]] = {}
        encoded: dict[int, bytes] = {}
        for (subject_type, key), value in changes.items():
            digest = blake2b(f"{subject_type}\x00{key}".encode(), digest_size=16).digest()
            blob = None
            if value is not None:
                blob = encoded.get(id(value))
                if blob is None:
                    try:
                        blob = encoded[id(value)] = _encode(
                            value, value is unreadable_marker and unreadable_marker is not None, index)
                    except KeyError:
                        raise FullBuildNeeded("a changed subject names a string the previous snapshot does not hold")
            by_block.setdefault(int.from_bytes(digest[:8], "big") >> shift, {})[digest] = blob
        rebuilt: dict[int, tuple[bytes, int]] = {}
        for b, changed in by_block.items():
            start = blocks_at + (directory[b] >> 16)
            count = directory[b] & MAX_BLOCK
            refs_at = start + 16 * count
            entries: dict[bytes, bytes] = {}
            for i in range(count):
                blob_at = start + _REF.unpack_from(view, refs_at + 4 * i)[0]
                entries[view[start + 16 * i:start + 16 * i + 16]] = view[blob_at:blob_at + _blob_size(view, blob_at)]
            for blob in set(entries.values()):
                for ref in _string_refs(blob):
                    uses[ref] -= 1
            subjects -= len(entries)
            for digest, blob in changed.items():
                if blob is None:
                    entries.pop(digest, None)
                else:
                    entries[digest] = blob
            subjects += len(entries)
            data, blobs = _block(sorted(entries.items()))
            for blob in blobs:
                for ref in _string_refs(blob):
                    uses[ref] += 1
            rebuilt[b] = (data, len(entries))
        if block_bits(subjects) != bits:
            raise FullBuildNeeded("the number of blocks changes")
        if not all(uses):
            raise FullBuildNeeded("a string is no longer named")
        new_directory, pieces = array("Q"), []
        delta, copied, done = 0, 0, 0  # size change so far; blocks bytes copied or replaced; entries written
        for b in sorted(rebuilt):
            _shifted(new_directory, directory[done:b], delta)
            old_start = directory[b] >> 16
            old_end = directory[b + 1] >> 16 if b + 1 < blocks else blocks_size
            data, count = rebuilt[b]
            pieces += [view[blocks_at + copied:blocks_at + old_start], data]
            new_directory.append((old_start + delta) << 16 | count)
            delta += len(data) - (old_end - old_start)
            copied, done = old_end, b + 1
        _shifted(new_directory, directory[done:], delta)
        pieces.append(view[blocks_at + copied:blocks_at + blocks_size])
        strings = _string_table(names, uses)
        size = blocks_size + delta
        header = _HEADER.pack(MAGIC, subjects, bits, head, _HEADER.size, blocks_at, size, blocks_at + size,
                              len(strings), keys_tag)
        _write(path, header, new_directory, pieces, strings)
        return blocks_at + size + len(strings)
    finally:
        view.close()


def _shifted(into: array, entries: array, delta: int) -> None:
    """Directory entries of blocks that moved by `delta` bytes."""
    into.extend(array("Q", [v + (delta << 16) for v in entries]) if delta else entries)


def snapshot_header(path: Path) -> tuple[int, bytes] | None:
    """(feed head, keys tag) of a snapshot of this format; None for no file or another format."""
    try:
        with open(path, "rb") as f:
            raw = f.read(_HEADER.size)
    except FileNotFoundError:
        return None
    if len(raw) < _HEADER.size or raw[:8] != MAGIC:
        return None
    fields = _HEADER.unpack(raw)
    return fields[3], fields[9]


class Snapshot:
    """A snapshot file mapped read-only. `get` answers like the in-memory index's dict."""

    def __init__(self, path: Path, unreadable_marker: SubjectFacts):
        with open(path, "rb") as f:
            self._map = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)
        if len(self._map) < _HEADER.size or self._map[:8] != MAGIC:
            raise ValueError(f"{path}: not a status index snapshot of this version")
        (_, self.subjects, bits, self.head, self._directory_at, self._blocks_at, blocks_size, strings_at, strings_size,
         self.keys_tag) = _HEADER.unpack_from(self._map, 0)
        self._shift, self._blocks = 64 - bits, 1 << bits
        self.path, self.size = Path(path), len(self._map)
        self._strings = [name for name, _ in json.loads(self._map[strings_at:strings_at + strings_size].decode())]
        self._unreadable = unreadable_marker
        # Bounded, first in first out: when full, one entry goes for each new one (never all at once, so
        # more distinct subjects than the bound do not empty it over and over).
        self._cache: OrderedDict[int, SubjectFacts] = OrderedDict()
        self._year_sets: OrderedDict[bytes, frozenset[int]] = OrderedDict()

    def __len__(self) -> int:
        return self.subjects

    def get(self, key: tuple[str, str], default=None):
        digest = blake2b(f"{key[0]}\x00{key[1]}".encode(), digest_size=16).digest()  # key_hash, inlined
        view = self._map
        block = int.from_bytes(digest[:8], "big") >> self._shift
        entry = _DIRECTORY.unpack_from(view, self._directory_at + 8 * block)[0]
        start = self._blocks_at + (entry >> 16)
        end = start + 16 * (entry & MAX_BLOCK)
        at = view.find(digest, start, end)
        while at >= 0 and (at - start) & 15:  # found across two hashes: look on
            at = view.find(digest, at + 1, end)
        if at < 0:
            return default
        offset = start + _REF.unpack_from(view, end + ((at - start) >> 2))[0]
        facts = self._cache.get(offset)
        if facts is None:
            facts = self._cache[offset] = self._decode(offset)
            if len(self._cache) > CACHE_LIMIT:
                self._cache.popitem(last=False)
        return facts

    def _decode(self, at: int) -> SubjectFacts:
        # The hot part of a look-up not cached yet: positional arguments, no helper calls, and the few
        # distinct year sets made once (a dict keyed by their bytes).
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
            years = self._year_sets[raw] = frozenset(_YEAR.unpack_from(raw, 4 * i)[0] for i in range(n))
            if len(self._year_sets) > CACHE_LIMIT:
                self._year_sets.popitem(last=False)
        return years

    def keys_hashed(self) -> Iterable[bytes]:
        """Every key hash in the snapshot (tests)."""
        for b in range(self._blocks):
            entry = _DIRECTORY.unpack_from(self._map, self._directory_at + 8 * b)[0]
            start = self._blocks_at + (entry >> 16)
            for i in range(entry & MAX_BLOCK):
                yield bytes(self._map[start + 16 * i:start + 16 * i + 16])


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
