"""docs/errors.md lists every problem `code` the service can answer, and nothing else.

The codes are read from the source with `ast` (no app, no database): the literals given as `code=`, the
code of a rule's refusal (`TransitionRefused("objection_closed", ...)`, `RuleRefusal(detail, code)`) and of
`problem(...)`, the class attributes of the error classes, the default table of `api/problems.py`, a table
of codes to statuses (`{"objection_closed": 409}`), the not-found ids of the procedure's records and the
rate limiter's body. Where the source fixes the HTTP status (the error class raised, a refusal's
`conflict=True` or its place in a set of conflict codes, the status given to `problem`), the catalogue
must name it. A new way of naming a code needs a line in `source_codes`; the first test below shows
each way at work.
"""
from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

from credit_service.settings import PROJECT_ROOT

SOURCES = ("credit_service", "schemas", "jobs")
CATALOGUE = PROJECT_ROOT / "docs" / "errors.md"
_CODE = re.compile(r"^[a-z][a-z0-9_]*$")
# The error classes and their statuses that are not written as `status = N` in their own body
# (a domain error, which the use case turns into a 422 Invalid; the base of every service error).
_KNOWN_STATUS = {"AgreementInputError": 422, "TransitionRefused": 422, "RuleRefusal": 422}
# A refusal of the rules answers 409 when it clashes with the record's state: said at the raise
# (`conflict=True`) or in one set of such codes (a name holding CONFLICT); else 422.
_REFUSALS = ("TransitionRefused", "RuleRefusal")


def _strings(node: ast.AST | None) -> list[str]:
    """"x" → [x]; `"a" if cond else "b"` → [a, b]; anything computed → []."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return _strings(node.body) + _strings(node.orelse)
    return []


def _name(func: ast.AST) -> str:
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def _class_statuses(trees: list[ast.Module]) -> dict[str, int | None]:
    """Every class with a `status` (own or inherited), e.g. Invalid → 422, Forbidden → 403."""
    own: dict[str, int | None] = {}
    bases: dict[str, list[str]] = {}
    for tree in trees:
        for cls in (n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)):
            bases[cls.name] = [_name(b) for b in cls.bases]
            for name, value in _class_assignments(cls):
                if name == "status" and isinstance(value, ast.Constant) and isinstance(value.value, int):
                    own[cls.name] = value.value

    def status_of(name: str, seen: frozenset = frozenset()) -> int | None:
        if name in own:
            return own[name]
        if name in _KNOWN_STATUS:
            return _KNOWN_STATUS[name]
        for base in bases.get(name, []):
            if base not in seen and (found := status_of(base, seen | {name})) is not None:
                return found
        return None

    return {name: status_of(name) for name in bases}


def _class_assignments(cls: ast.ClassDef):
    """(name, value) for `a = x` and `a, b = x, y` in a class body."""
    for stmt in cls.body:
        if not isinstance(stmt, ast.Assign):
            continue
        for target in stmt.targets:
            if isinstance(target, ast.Name):
                yield target.id, stmt.value
            elif isinstance(target, ast.Tuple) and isinstance(stmt.value, ast.Tuple):
                for t, v in zip(target.elts, stmt.value.elts):
                    if isinstance(t, ast.Name):
                        yield t.id, v


def source_codes() -> dict[str, set[int | None]]:
    """code → the HTTP statuses the source fixes for it (None where the source does not say)."""
    files = [p for root in SOURCES for p in sorted((PROJECT_ROOT / root).rglob("*.py"))]
    trees = [ast.parse(p.read_text(encoding="utf-8"), str(p)) for p in files]
    statuses = _class_statuses(trees)
    found: dict[str, set[int | None]] = defaultdict(set)

    def add(codes, status):
        for code in codes:
            found[code].add(status)

    in_class_bodies = {id(stmt) for tree in trees for cls in ast.walk(tree) if isinstance(cls, ast.ClassDef)
                       for stmt in cls.body}
    conflict_codes = _conflict_codes(trees)
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                for name, value in _class_assignments(node):
                    if name == "code":
                        add(_strings(value), statuses.get(node.name))
            elif isinstance(node, ast.Call):
                func = _name(node.func)
                keywords = {k.arg: k.value for k in node.keywords}
                conflict = keywords.get("conflict")
                said_conflict = isinstance(conflict, ast.Constant) and conflict.value is True

                def refusal(codes):
                    for code in codes:
                        add([code], 409 if said_conflict or code in conflict_codes else 422)

                if "code" in keywords:
                    if func in _REFUSALS:
                        refusal(_strings(keywords["code"]))
                    else:
                        add(_strings(keywords["code"]), statuses.get(func))
                if func == "TransitionRefused" and node.args:  # TransitionRefused(code, detail, ...)
                    refusal(_strings(node.args[0]))
                elif func == "RuleRefusal" and len(node.args) >= 2:  # RuleRefusal(detail, code)
                    refusal(_strings(node.args[1]))
                elif func == "problem" and len(node.args) >= 2:
                    status = node.args[0].value if isinstance(node.args[0], ast.Constant) else None
                    add(_strings(node.args[1]), status)
                elif func == "load_for_procedure" and node.args:
                    add(_strings(node.args[-1]), 404)
                elif func == "get" and len(node.args) == 2 and isinstance(node.args[1], ast.Tuple) and node.args[1].elts:
                    # `_HTTP_DEFAULTS.get(status, ("error", ...))`: the code of any other status
                    add(_strings(node.args[1].elts[0]), None)
            elif isinstance(node, ast.Assign) and id(node) not in in_class_bodies:
                # `code = "a" if ... else "b"` ahead of `Invalid(..., code=code)`
                if any(isinstance(t, ast.Name) and t.id == "code" for t in node.targets):
                    add(_strings(node.value), None)
            elif isinstance(node, ast.Dict):
                _from_dict(node, add)
    return {code: s for code, s in found.items() if _CODE.match(code)}


def _conflict_codes(trees: list[ast.Module]) -> set[str]:
    """The codes of a set such as `CONFLICT_CODES = frozenset({"notice_exists", ...})`."""
    codes: set[str] = set()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and "CONFLICT" in t.id
                                                    for t in node.targets):
                value = node.value
                if isinstance(value, ast.Call) and value.args:  # frozenset({...})
                    value = value.args[0]
                if isinstance(value, (ast.Set, ast.List, ast.Tuple)):
                    codes.update(c for e in value.elts for c in _strings(e))
    return codes


def _from_dict(node: ast.Dict, add) -> None:
    items = {k.value: v for k, v in zip(node.keys, node.values) if isinstance(k, ast.Constant)}
    if "code" in items:  # a problem body written out, e.g. the rate limiter's 429
        status = items.get("status")
        add(_strings(items["code"]), status.value if isinstance(status, ast.Constant) else None)
    # a table of codes to statuses: {"objection_closed": 409, ...}
    statuses = [v.value if isinstance(v, ast.Constant) else None for v in items.values()]
    if len(items) >= 3 and len(items) == len(node.keys) and all(isinstance(k, str) and _CODE.match(k) for k in items) \
            and all(isinstance(v, int) and 400 <= v < 600 for v in statuses):
        for key, status in zip(items, statuses):
            add([key], status)
    # ids of what was not found: {"measure": ("信用管理措施", "measure_not_found"), ...}
    for value in items.values():
        if isinstance(value, ast.Tuple):
            add([c for e in value.elts for c in _strings(e) if _CODE.match(c) and c.endswith("_not_found")], 404)
    # the defaults per status: {400: ("bad_request", "title", "detail"), ...}
    for key, value in items.items():
        if isinstance(key, int) and 400 <= key < 600 and isinstance(value, ast.Tuple) and value.elts:
            add(_strings(value.elts[0]), key)


def catalogue() -> dict[str, set[int] | None]:
    """code → the statuses its row names ({...} of ints; None for "other" statuses)."""
    rows: dict[str, set[int] | None] = {}
    for line in CATALOGUE.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^\|\s*`([a-z0-9_]+)`\s*\|\s*([^|]+?)\s*\|", line)
        if not match:
            continue
        code, status = match.groups()
        assert code not in rows, f"docs/errors.md lists {code} twice"
        numbers = {int(n) for n in re.findall(r"\b[1-5]\d\d\b", status)}
        rows[code] = numbers or None
    return rows


def test_the_extractor_finds_each_kind_of_source():
    """A guard on the extractor itself: one code of every shape it reads, with its status."""
    codes = source_codes()
    expected = {
        "objection_closed": 409,          # TransitionRefused(..., conflict=True) and Conflict(code=...)
        "objection_window_closed": 422,   # TransitionRefused(...)
        "duplicate_source_ref": 409,      # Conflict(..., code=...)
        "invalid_token": 401,             # Unauthorized (api/auth.py)
        "not_own_subject": 403,           # Forbidden
        "rate_limited": 429,              # the limiter's body, written out
        "status_index_stale": 503,        # problem(503, ...)
        "payload_too_large": 413,         # the defaults per status
        "measure_not_found": 404,         # load_for_procedure(..., code)
        "unknown_category": 422,          # a domain error class
        "not_acceptable": 406,            # status, code, title = ...
        "bad_request": 400,               # ServiceError's own default
    }
    for code, status in expected.items():
        assert status in codes.get(code, set()), (code, codes.get(code))
    assert "webhook_target_not_allowed" in codes and "year_in_future" in codes  # `a if ... else b`
    assert len(codes) >= 40


def test_every_code_in_the_source_is_in_the_catalogue():
    missing = sorted(set(source_codes()) - set(catalogue()))
    assert not missing, f"add these codes to docs/errors.md: {missing}"


def test_every_code_in_the_catalogue_is_in_the_source():
    stale = sorted(set(catalogue()) - set(source_codes()))
    assert not stale, f"docs/errors.md lists codes the source no longer has: {stale}"


def test_the_catalogue_names_the_status_the_source_fixes():
    rows = catalogue()
    wrong = {}
    for code, statuses in source_codes().items():
        fixed = {s for s in statuses if s is not None}
        if code not in rows:
            continue  # test_every_code_in_the_source_is_in_the_catalogue says so
        named = rows[code]
        if named is None:  # "any other": only for a code whose status the source leaves open
            if fixed:
                wrong[code] = (sorted(fixed), "no status named")
        elif not fixed <= named:
            wrong[code] = (sorted(fixed), sorted(named))
    assert not wrong, f"code: (statuses in the source, statuses in docs/errors.md): {wrong}"


def test_the_extractor_reads_a_table_of_codes_to_statuses():
    found: dict[str, set] = defaultdict(set)

    def add(codes, status):
        for code in codes:
            found[code].add(status)

    _from_dict(ast.parse('{"objection_closed": 409, "notice_exists": 409, "filed_in_future": 422}').body[0].value, add)
    _from_dict(ast.parse('{"example": 422}').body[0].value, add)  # one schema field's metadata, not a table
    assert found == {"objection_closed": {409}, "notice_exists": {409}, "filed_in_future": {422}}
