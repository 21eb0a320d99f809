"""Every article of 鲁医保发〔2024〕25号 that the service implements has tests that say so (a
`pytest.mark.article` marker), its code references resolve, and docs/traceability.md is current."""
from __future__ import annotations

import re

import pytest

from credit_service.settings import PROJECT_ROOT
from credit_service.traceability import ARTICLES, marked_tests, render, unresolved_code, untested

NUMBERS = {"5": "五", "6": "六", "7": "七", "8": "八", "9": "九", "10": "十", "11": "十一", "12": "十二", "13": "十三",
           "14": "十四", "15": "十五"}


def test_every_article_of_5_to_15_is_listed_once():
    articles = [row.name for row in ARTICLES if "项" not in row.name]
    assert articles == [f"第{NUMBERS[str(n)]}条" for n in range(5, 16)]
    assert len({row.name for row in ARTICLES}) == len(ARTICLES)


def test_every_implemented_article_and_item_has_a_test():
    assert untested(PROJECT_ROOT) == []


def test_every_code_reference_resolves():
    assert unresolved_code() == []


def test_a_test_named_after_an_article_carries_its_marker():
    """test_art9_item3_… names 第九条第三项: the name and the marker must agree."""
    wrong = []
    for node, marks in marked_tests(PROJECT_ROOT).items():
        name = node.rsplit("::", 1)[-1]
        for number in re.findall(r"(?:^test_|_)art(\d+)", name):
            article = f"第{NUMBERS.get(number, number)}条"
            if not any(m.startswith(article) for m in marks):
                wrong.append(f"{node}: no marker for {article}")
    assert wrong == []


def test_markers_name_articles_or_items_only():
    pattern = re.compile(r"第[一二三四五六七八九十]+条(第[一二三四五、]+项)?")
    bad = {m for marks in marked_tests(PROJECT_ROOT).values() for m in marks if not pattern.fullmatch(m)}
    assert bad == set()


def test_docs_traceability_md_is_current():
    """Regenerate with `credit-service docs traceability` after adding or moving marked tests."""
    current = (PROJECT_ROOT / "docs" / "traceability.md").read_text(encoding="utf-8")
    assert current == render(PROJECT_ROOT), "docs/traceability.md is out of date: run `credit-service docs traceability`"


@pytest.mark.parametrize("marker", ["第九条第三项", "第九条"])
def test_an_item_marker_counts_for_its_article(marker):
    from credit_service.traceability import covers
    row = next(r for r in ARTICLES if r.name == "第九条")
    assert covers(row, marker)
    assert not covers(next(r for r in ARTICLES if r.name == "第九条第一项"), "第九条第三项")
