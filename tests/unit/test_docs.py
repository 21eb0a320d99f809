"""The README stays short and the documentation holds together (issue 10, item 7): README.md at most
12 KB, every relative link in README.md and docs/ names a file (and a heading) that exists, every page of
docs/ is reachable from the README (its curl examples: tests/api/test_examples.py)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from credit_service.settings import PROJECT_ROOT

README = PROJECT_ROOT / "README.md"
DOCS = sorted((PROJECT_ROOT / "docs").glob("*.md"))
PAGES = [README, *DOCS, PROJECT_ROOT / "bench" / "README.md", PROJECT_ROOT / "config" / "calendar" / "README.md"]
_LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
_FENCE = re.compile(r"^```.*?^```", re.S | re.M)


def _prose(text: str) -> str:
    return _FENCE.sub("", text)


def _slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]|\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    return {_slug(m) for m in re.findall(r"^#+ (.+)$", _prose(page.read_text(encoding="utf-8")), re.M)}


def test_the_readme_is_at_most_12_kb():
    assert README.stat().st_size <= 12 * 1024, f"README.md is {README.stat().st_size} bytes"


def test_the_readme_has_the_two_commands_a_first_case_and_where_to_go_next():
    text = README.read_text(encoding="utf-8")
    for part in ("./dev serve", "./dev test", "## A first case with curl", "## Where to go next"):
        assert part in text


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(PROJECT_ROOT)))
def test_every_relative_link_resolves(page):
    broken = []
    for target in _LINK.findall(_prose(page.read_text(encoding="utf-8"))):
        if re.match(r"^[a-z]+:", target):  # https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.is_file() or not file.is_relative_to(PROJECT_ROOT):
            broken.append(target)
        elif anchor and file.suffix == ".md" and anchor not in _anchors(file):
            broken.append(target)
    assert broken == []


def test_every_page_of_docs_is_linked_from_the_readme():
    linked = {(PROJECT_ROOT / t.partition("#")[0]).resolve() for t in _LINK.findall(README.read_text("utf-8"))}
    assert [p.name for p in DOCS if p.resolve() not in linked] == []


def test_the_link_check_can_fail():
    assert _slug("Physicians and pharmacists (Art. 8): agreements and points") == \
        "physicians-and-pharmacists-art-8-agreements-and-points"
    assert _LINK.findall("see [x](nowhere.md#a) and ![img](pic.png)") == ["nowhere.md#a"]
