"""Spec for config/rules/*.toml and its loader: the shipped file states 鲁医保发〔2024〕25号 第九条,
第十三条 and 第十五条 as data; a malformed file stops start-up with an error naming file, key, problem.
"""
from __future__ import annotations

import tomllib
from datetime import date
from decimal import Decimal

import pytest

from credit_service.rules_config import RuleConfigError, load_rule_book, load_rule_set

from .rulebooks import RULES_DIR, SHIPPED_ID

SHIPPED_FILE = RULES_DIR / "shandong-2024-trial.toml"
SHIPPED_TEXT = SHIPPED_FILE.read_text(encoding="utf-8")


def edit(old: str, new: str, count: int = 1, nth: int = 1) -> str:
    """The shipped text with the `nth` occurrence of `old` replaced; fails loudly if `old` is absent."""
    assert SHIPPED_TEXT.count(old) >= nth, old
    head, *rest = SHIPPED_TEXT.split(old)
    pieces = [head]
    for i, tail in enumerate(rest, start=1):
        pieces.append(new if nth <= i < nth + count else old)
        pieces.append(tail)
    return "".join(pieces)


# --- the shipped file -------------------------------------------------------------------------------

def test_shipped_config_loads_as_the_measures_say():
    book = load_rule_book(RULES_DIR)
    assert [rs.id for rs in book.rule_sets] == [SHIPPED_ID, "shandong-evaluation-2024", "shandong-practitioners-2024"]
    rs = book.get(SHIPPED_ID)
    assert rs.document == "鲁医保发〔2024〕25号"
    assert rs.regions == ("37",)
    assert (rs.effective_from, rs.effective_until) == (date(2024, 8, 10), date(2026, 8, 9))  # 第十五条
    assert rs.after_expiry == "continue" and rs.default_months == "minimum"
    # 第十条、第十一条: 15 working days each; an objection does not pause the measure
    assert (rs.procedure.objection_working_days, rs.procedure.review_working_days,
            rs.procedure.repair_reply_working_days, rs.procedure.objection_pauses_measure) == (15, 15, 15, False)
    assert [t.article for t in rs.tiers] == ["第九条第二项", "第九条第三项", "第九条第四项"]
    assert [t.allowed_months for t in rs.tiers] == [range(3, 6), range(6, 9), range(9, 13)]
    assert [t.band_words for t in rs.tiers] == ["不满10万元", "10万元以上、不满20万元", "20万元以上"]
    assert rs.insured_criminal_fraud.article == "第九条第五项"
    assert rs.practitioner_criminal_fraud.article == "第八条第四项"
    assert (rs.lenient_article, rs.lenient_clean_years) == ("第九条第一项", 2)
    assert rs.source_file == str(SHIPPED_FILE)


@pytest.mark.parametrize(("loss", "article"), [
    pytest.param("0.00", None, id="0-无档次"),
    pytest.param("0.01", "第九条第二项", id="第九条第二项-0.01"),
    pytest.param("99999.99", "第九条第二项", id="第九条第二项-不满10万元"),
    pytest.param("100000.00", "第九条第三项", id="第九条第三项-10万元以上含本数"),
    pytest.param("199999.99", "第九条第三项", id="第九条第三项-不满20万元"),
    pytest.param("200000.00", "第九条第四项", id="第九条第四项-20万元以上含本数"),
])
@pytest.mark.article("第十三条")
def test_art13_shipped_tier_for(loss, article):
    tier = load_rule_book(RULES_DIR).get(SHIPPED_ID).tier_for(Decimal(loss))
    assert (tier.article if tier else None) == article


def test_files_starting_with_underscore_or_dot_are_ignored(tmp_path):
    (tmp_path / "shipped.toml").write_text(SHIPPED_TEXT, encoding="utf-8")
    (tmp_path / "_draft.toml").write_text("not [ toml", encoding="utf-8")
    (tmp_path / ".hidden.toml").write_text("not [ toml", encoding="utf-8")
    assert [rs.id for rs in load_rule_book(tmp_path).rule_sets] == [SHIPPED_ID]


# --- malformed files --------------------------------------------------------------------------------

MALFORMED = [
    pytest.param(edit("effective_from = 2024-08-10", ""), "effective_from", "is missing",
                 id="第十五条-effective_from缺失"),
    pytest.param(edit("effective_from = 2024-08-10", 'effective_from = "2024-08-10"'), "effective_from",
                 "must be a date", id="effective_from为字符串"),
    pytest.param(edit("effective_from = 2024-08-10", "effective_from = 2024-08-10T00:00:00"),
                 "effective_from", "must be a date", id="effective_from为日期时间"),
    pytest.param(edit("effective_until = 2026-08-09", "effective_until = 2024-08-09"), "effective_until",
                 "before effective_from", id="effective_until早于effective_from"),
    pytest.param(edit('after_expiry = "continue"', 'after_expiry = "maybe"'), "after_expiry",
                 '"continue" or "stop"', id="after_expiry-maybe"),
    pytest.param(edit('regions = ["37"]', "regions = []"), "regions", "non-empty", id="regions为空"),
    pytest.param(edit('regions = ["37"]', 'regions = ["SD"]'), "regions", "digits", id="regions非数字"),
    pytest.param(edit('default_months = "minimum"', 'default_months = "median"'), "insured.default_months",
                 '"minimum" or "maximum"', id="default_months-median"),
    pytest.param(edit('aggregation = "natural_year_sum"', 'aggregation = "per_violation"'),
                 "insured.aggregation", "natural_year_sum", id="第七条-aggregation"),
    pytest.param(edit('amount = "100000.00", term = "不满"', 'amount = "100000.00", term = "以内"'),
                 "insured.tiers[0].loss_below.term", "以下/不满", id="第十三条-loss_below-以内"),
    pytest.param(edit('amount = "100000.00", term = "以上"', 'amount = "100000.00", term = "以内"'),
                 "insured.tiers[1].loss_above.term", "以上/超过", id="第十三条-loss_above-以内"),
    pytest.param(edit('months_to = { months = 6, term = "不满" }', 'months_to = { months = 6, term = "以内" }'),
                 "insured.tiers[0].months_to.term", "以下 or 不满", id="第十三条-months_to-以内"),
    pytest.param(edit('months_from = { months = 3, term = "以上" }', 'months_from = { months = 3, term = "以内" }'),
                 "insured.tiers[0].months_from.term", "以上 or 超过", id="第十三条-months_from-以内"),
    pytest.param(edit('amount = "100000.00", term = "以上"', 'amount = "十万", term = "以上"'),
                 "insured.tiers[1].loss_above.amount", "not a decimal amount", id="amount-十万"),
    pytest.param(edit('amount = "100000.00", term = "以上"', 'amount = "150000.00", term = "以上"'),
                 "insured.tiers[1].loss_above", "must start exactly where", id="档次间断-10万至15万"),
    pytest.param(edit('amount = "100000.00", term = "以上"', 'amount = "100000.00", term = "超过"'),
                 "insured.tiers[1].loss_above", "must start exactly where", id="档次间断-不满10万接超过10万"),
    pytest.param(edit('amount = "100000.00", term = "不满"', 'amount = "100000.00", term = "以下"'),
                 "insured.tiers[1].loss_above", "must start exactly where", id="档次重叠-10万以下接10万以上"),
    pytest.param(edit('amount = "200000.00", term = "以上"', 'amount = "100000.00", term = "以上"'),
                 "insured.tiers[2].loss_above", "must start exactly where", id="档次重叠-两个10万以上"),
    pytest.param(edit('months_to = { months = 12, term = "以下" }',
                      'months_to = { months = 12, term = "以下" }\nloss_below = { amount = "500000.00", term = "不满" }'),
                 "insured.tiers[2].loss_below", "open-ended", id="最高档须无上限"),
    pytest.param(edit('months_from = { months = 3, term = "以上" }', 'months_from = { months = 5, term = "超过" }'),
                 "insured.tiers[0].months_from", "no whole month", id="月数区间-超过5不满6无整月"),
    pytest.param(edit('months_from = { months = 3, term = "以上" }\nmonths_to = { months = 6, term = "不满" }',
                      'months_from = { months = 0, term = "以上" }\nmonths_to = { months = 0, term = "以下" }'),
                 "insured.tiers[0].months_from", "no whole month", id="月数区间-0个月"),
    pytest.param(edit('measure = "joint_punishment_listing"', 'measure = "fine"'),
                 "insured.criminal_fraud.measure", "joint_punishment_listing", id="第九条第五项-measure"),
    pytest.param(edit('id = "shandong-2024-trial"', ""), "id", "is missing", id="id缺失"),
    pytest.param(SHIPPED_TEXT + "\n[insured\n", "(file)", "not valid TOML", id="非TOML"),
    pytest.param("这不是TOML", "(file)", "not valid TOML", id="非TOML-纯文本"),
    pytest.param(edit("objection_working_days = 15", "objection_working_days = 0"),
                 "procedure.objection_working_days", "1..90", id="第十条-异议期限0日"),
    pytest.param(edit("review_working_days = 15", 'review_working_days = "15"'),
                 "procedure.review_working_days", "must be a int", id="第十条-复核期限非整数"),
    pytest.param(edit("repair_reply_working_days = 15\n", ""),
                 "procedure.repair_reply_working_days", "is missing", id="第十一条-答复期限缺失"),
    pytest.param(edit("objection_pauses_measure = false", "objection_pauses_measure = true"),
                 "procedure.objection_pauses_measure", "not supported", id="异议暂停执行-未支持"),
]


@pytest.mark.parametrize(("text", "key", "problem"), MALFORMED)
def test_malformed_rule_file_names_file_key_and_problem(tmp_path, text, key, problem):
    path = tmp_path / "broken.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RuleConfigError) as exc:
        load_rule_book(tmp_path)
    err = exc.value
    assert (err.path, err.key) == (path, key)
    assert problem in err.problem
    assert str(path) in str(err) and key in str(err) and problem in str(err)


def test_duplicate_rule_set_ids_across_two_files(tmp_path):
    (tmp_path / "a.toml").write_text(SHIPPED_TEXT, encoding="utf-8")
    (tmp_path / "b.toml").write_text(SHIPPED_TEXT, encoding="utf-8")
    with pytest.raises(RuleConfigError) as exc:
        load_rule_book(tmp_path)
    message = str(exc.value)
    assert exc.value.key == "id" and "duplicate" in message
    assert str(tmp_path / "a.toml") in message and str(tmp_path / "b.toml") in message


def test_two_files_with_distinct_ids_load(tmp_path):
    (tmp_path / "a.toml").write_text(SHIPPED_TEXT, encoding="utf-8")
    (tmp_path / "b.toml").write_text(edit('id = "shandong-2024-trial"', 'id = "other"'), encoding="utf-8")
    assert sorted(rs.id for rs in load_rule_book(tmp_path).rule_sets) == ["other", SHIPPED_ID]


def test_stop_and_maximum_are_accepted(tmp_path):
    path = tmp_path / "x.toml"
    path.write_text(edit('after_expiry = "continue"', 'after_expiry = "stop"').replace(
        'default_months = "minimum"', 'default_months = "maximum"'), encoding="utf-8")
    rs = load_rule_set(path)
    assert (rs.after_expiry, rs.default_months) == ("stop", "maximum")
    assert [rs.default_months_for(t) for t in rs.tiers] == [5, 8, 12]


BAD_AMOUNTS = ["NaN", "sNaN", "Infinity", "-1.00"]


# Amounts that parse as Decimal but are no amount of money. Each is put on the lowest tier's
# loss_above, which no neighbour check looks at; the file loads and decide() then misbehaves.
@pytest.mark.parametrize("amount", BAD_AMOUNTS)
def test_loss_amount_must_be_a_finite_non_negative_decimal(tmp_path, amount):
    path = tmp_path / "x.toml"
    path.write_text(edit('amount = "0.00"', f'amount = "{amount}"'), encoding="utf-8")
    with pytest.raises(RuleConfigError) as exc:
        load_rule_set(path)
    assert exc.value.key == "insured.tiers[0].loss_above.amount"


def _inverted_band_text() -> str:
    """Tiers [超过0, 不满20万), [20万以上, 不满10万), [10万以上, ∞): every neighbour edge matches."""
    text = edit('amount = "100000.00", term = "不满"', 'amount = "200000.00", term = "不满"')
    for old, new in [
        ('loss_above = { amount = "100000.00", term = "以上" }\nloss_below = { amount = "200000.00", term = "不满" }',
         'loss_above = { amount = "200000.00", term = "以上" }\nloss_below = { amount = "100000.00", term = "不满" }'),
        ('loss_above = { amount = "200000.00", term = "以上" }\nmonths_from = { months = 9',
         'loss_above = { amount = "100000.00", term = "以上" }\nmonths_from = { months = 9'),
    ]:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return text


def test_bad_texts_used_below_say_what_they_mean():
    """Guards the tests below against passing or failing for a reason other than the rule they check."""
    tiers = tomllib.loads(_inverted_band_text())["insured"]["tiers"]
    assert [(t["loss_above"]["amount"], t.get("loss_below", {}).get("amount")) for t in tiers] == [
        ("0.00", "200000.00"), ("200000.00", "100000.00"), ("100000.00", None)]
    for amount in BAD_AMOUNTS:
        tier0 = tomllib.loads(edit('amount = "0.00"', f'amount = "{amount}"'))["insured"]["tiers"][0]
        assert tier0["loss_above"] == {"amount": amount, "term": "超过"}


def test_inverted_loss_band_is_refused(tmp_path):
    path = tmp_path / "x.toml"
    path.write_text(_inverted_band_text(), encoding="utf-8")
    with pytest.raises(RuleConfigError) as exc:
        load_rule_set(path)
    assert exc.value.key.startswith("insured.tiers[1]")
