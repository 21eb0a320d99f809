"""Which article of 鲁医保发〔2024〕25号 (Arts 5–15) is implemented where: the table below names the code
and the rule-file keys of each article; the rule files themselves are searched for the keys whose value
names it; the tests are found by their `pytest.mark.article("第…条")` markers (read from the test
sources, not by running them). `credit-service docs traceability` writes docs/traceability.md from it,
and tests/unit/test_traceability.py fails when an article the service implements has no test, when a
code reference no longer resolves, or when the document is out of date."""
from __future__ import annotations

import ast
import importlib
import tomllib
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Article:
    name: str  # 第九条 or, for an item, 第九条第三项
    summary: str
    implemented: bool
    code: tuple[str, ...] = ()  # "module:qualified.name"
    rule_keys: tuple[str, ...] = ()  # keys of config/rules/*.toml whose value does not name the article
    note: str = ""


ARTICLES: tuple[Article, ...] = (
    Article("第五条", "医疗保障行政部门与经办机构的职责；各统筹区信用管理结果互认", True,
            ("credit_service.domain.status:status_on", "credit_service.services.access:POLICY"),
            note="措施在全省任一统筹区同样适用（状态查询不按地区筛选）；写操作限于经办人员本统筹区。"),
    Article("第六条", "信用信息来源", True,
            ("credit_service.domain.violations:ViolationInput", "credit_service.services.intake:record_violations"),
            note="每条违约违法信息记录来源（source）与来源编号（source_ref），同一来源编号即同一条信息。"),
    Article("第七条", "及时记录违约违法信息；以一个自然年度为一个记录周期", True,
            ("credit_service.domain.decisions:decide", "credit_service.adapters.records:SubjectLedger",
             "credit_service.domain.evaluation:EvaluationModel.deductions"),
            ("insured.aggregation", "evaluation.record.article")),
    Article("第八条", "医保医（药）师的信用管理措施", True),
    Article("第八条第一项", "表现突出的，优先推荐入医保专家库", True,
            ("credit_service.services.incentives:recommend_expert",
             "credit_service.services.incentives:withdraw_expert_recommendation",
             "credit_service.domain.status:status_on")),
    Article("第八条第二项", "被协议处理的，按照协议约定执行", True,
            ("credit_service.domain.practitioners:decide_agreement",
             "credit_service.domain.practitioners:check_reregistration",
             "credit_service.services.qualification:record_reregistration"),
            ("agreement.categories", "agreement.points", "agreement.points.reregistration_article")),
    Article("第八条第三项", "所在单位被行政处罚的，按照协议约定执行", True,
            ("credit_service.domain.practitioners:decide_agreement",), ("agreement.categories[].handlings",)),
    Article("第八条第四项", "因欺诈骗保被刑事处罚的，取消资格并纳入失信联合惩戒对象名单", True,
            ("credit_service.domain.practitioners:decide_agreement", "credit_service.domain.decisions:decide",
             "credit_service.services.joint_list:joint_punishment_list")),
    Article("第九条", "参保人的信用管理措施", True),
    Article("第九条第一项", "连续2年无违法违规的，享受容缺受理等激励", True,
            ("credit_service.domain.status:status_on", "credit_service.domain.status:lenient_acceptance"),
            ("incentives.lenient_acceptance.clean_years", "evaluation.grades[].unlocks"),
            note="两个完整自然年度无记录，且查询日所在年度无认定的违约违法信息、无执行中的措施、无期满未修复的措施。"),
    Article("第九条第二项", "损失不满10万元：暂停联网结算3个月以上、不满6个月", True,
            ("credit_service.domain.decisions:decide", "credit_service.domain.rules:Tier.contains")),
    Article("第九条第三项", "损失10万元以上、不满20万元：暂停6个月以上、不满9个月", True,
            ("credit_service.domain.decisions:decide",)),
    Article("第九条第四项", "损失20万元以上：暂停9个月以上、12个月以下", True,
            ("credit_service.domain.decisions:decide",)),
    Article("第九条第五项", "因欺诈骗保被刑事处理的，纳入失信联合惩戒对象名单", True,
            ("credit_service.domain.decisions:decide", "credit_service.services.joint_list:joint_punishment_list")),
    Article("第十条", "异议：收到告知书15个工作日内提出；15个工作日内完成复核", True,
            ("credit_service.domain.procedure:check_objection", "credit_service.domain.procedure:check_objection_decision",
             "credit_service.services.procedure:decide_objection", "credit_service.services.recompute:recompute_subject"),
            ("procedure.objection_working_days", "procedure.review_working_days"),
            note="复核变更不得加重处理（更高的损失应作为新的违约违法信息记录）。"),
    Article("第十一条", "信用修复：收到申请后15个工作日内回复", True,
            ("credit_service.domain.procedure:check_repair", "credit_service.services.procedure:decide_repair"),
            ("procedure.repair_reply_working_days",)),
    Article("第十二条", "期限内纠正失信行为、消除不良影响、作出修复承诺的，期满信用自动修复", True,
            ("credit_service.domain.procedure:restoration_at_end", "credit_service.services.sweeps:end_measures"),
            ("evaluation.unrepaired.article",),
            note="期限内提出的完整修复申请，即使期满后才核准，也自期满之日起自动修复。"),
    Article("第十三条", "“以上”“以下”包括本数，“不满”“超过”不含本数", True,
            ("credit_service.domain.rules:Tier.contains", "credit_service.rules_config:load_rule_set"),
            ("insured.tiers[].loss_above.term", "insured.tiers[].loss_below.term", "insured.tiers[].months_from.term",
             "insured.tiers[].months_to.term")),
    Article("第十四条", "由山东省医疗保障局负责解释", False, note="无需由本服务实现。"),
    Article("第十五条", "自2024年8月10日起实施，有效期至2026年8月9日", True,
            ("credit_service.domain.rules:RuleBook.select", "credit_service.domain.decisions:expiry_note"),
            ("effective_from", "effective_until", "after_expiry")),
)


def article_of(name: str) -> str:
    """第九条第三项 → 第九条."""
    return name[:name.index("条") + 1] if "条" in name else name


def covers(row: Article, marker: str) -> bool:
    """A marker names the row itself, or (for an article row) any of its items."""
    if row.name == marker:
        return True
    return "项" not in row.name and article_of(marker) == row.name


# --- the tests ---------------------------------------------------------------------------------------

def _is_article_mark(node: ast.AST) -> bool:
    f = node.func if isinstance(node, ast.Call) else None
    return (isinstance(f, ast.Attribute) and f.attr == "article" and isinstance(f.value, ast.Attribute)
            and f.value.attr == "mark" and isinstance(f.value.value, ast.Name) and f.value.value.id == "pytest")


def _marks_in(nodes) -> set[str]:
    found = set()
    for node in nodes:
        for sub in ast.walk(node):
            if isinstance(sub, ast.Call) and _is_article_mark(sub):
                found.update(a.value for a in sub.args if isinstance(a, ast.Constant) and isinstance(a.value, str))
    return found


def _pytestmark(body) -> list:
    return [n.value for n in body if isinstance(n, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "pytestmark" for t in n.targets)]


def marked_tests(root: Path) -> dict[str, set[str]]:
    """Test node id (without parameters) → the articles its markers name, from every tests/**/test_*.py."""
    found: dict[str, set[str]] = {}
    for path in sorted((root / "tests").rglob("test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        module_marks = _marks_in(_pytestmark(tree.body))
        rel = path.relative_to(root).as_posix()

        def visit(body, prefix: str, inherited: set[str]):
            for node in body:
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test"):
                    found[f"{rel}::{prefix}{node.name}"] = inherited | _marks_in(node.decorator_list)
                elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
                    visit(node.body, f"{prefix}{node.name}::",
                          inherited | _marks_in(node.decorator_list) | _marks_in(_pytestmark(node.body)))

        visit(tree.body, "", module_marks)
    return found


# --- the rule files ----------------------------------------------------------------------------------

def rule_keys(root: Path) -> dict[str, list[str]]:
    """file: key for every value in config/rules/*.toml that names an article (`article = "第九条第三项"`)."""
    found: dict[str, list[str]] = {}

    def walk(value, key: str, file: str):
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, f"{key}.{k}" if key else k, file)
        elif isinstance(value, list):
            for i, v in enumerate(value):
                walk(v, f"{key}[{i}]", file)
        elif isinstance(value, str) and value.startswith("第") and "条" in value:
            found.setdefault(value, []).append(f"{file}: {key}")

    for path in sorted((root / "config" / "rules").glob("*.toml")):
        walk(tomllib.loads(path.read_text(encoding="utf-8")), "", path.name)
    return found


def unresolved_code(rows=ARTICLES) -> list[str]:
    missing = []
    for row in rows:
        for ref in row.code:
            module, _, qualname = ref.partition(":")
            try:
                target = importlib.import_module(module)
                for part in qualname.split("."):
                    target = getattr(target, part)
            except (ImportError, AttributeError):
                missing.append(f"{row.name}: {ref}")
    return missing


def untested(root: Path) -> list[str]:
    markers = marked_tests(root)
    return [row.name for row in ARTICLES if row.implemented
            and not any(covers(row, m) for marks in markers.values() for m in marks)]


# --- the document ------------------------------------------------------------------------------------

def render(root: Path) -> str:
    markers = marked_tests(root)
    keys = rule_keys(root)
    out = ["# Traceability: 鲁医保发〔2024〕25号, Arts 5–15", "",
           "Generated by `credit-service docs traceability` from `credit_service/traceability.py`, the rule files in",
           "`config/rules/` and the `pytest.mark.article(...)` markers of the tests. Do not edit by hand:",
           "`tests/unit/test_traceability.py` fails when an implemented article has no test, when a code reference",
           "no longer exists, or when this file is out of date.", "",
           "| 条款 | 内容 | 实现 | 规则文件键 | 代码 | 测试 |", "|---|---|---|---|---|---|"]
    details = []
    for row in ARTICLES:
        tests = sorted(node for node, marks in markers.items() if any(covers(row, m) for m in marks))
        found_keys = sorted({k for value, ks in keys.items() if covers(row, value) or value == row.name for k in ks})
        listed_keys = [f"`{k}`" for k in row.rule_keys] + [f"`{k}`" for k in found_keys]
        out.append(f"| {row.name} | {row.summary} | {'是' if row.implemented else '否'} | {len(listed_keys)} | "
                   f"{len(row.code)} | {len(tests)} |")
        level = "###" if "项" in row.name else "##"
        details += ["", f"{level} {row.name} {row.summary}", ""]
        if row.note:
            details += [row.note, ""]
        if not row.implemented:
            details += ["未实现。", ""]
            continue
        if listed_keys:
            details.append("- 规则文件键: " + ", ".join(listed_keys))
        if row.code:
            details.append("- 代码: " + ", ".join(f"`{c}`" for c in row.code))
        details.append(f"- 测试（{len(tests)}）:" if tests else "- 测试: **无**")
        details += [f"  - `{t}`" for t in tests]
    return "\n".join(out + details) + "\n"
