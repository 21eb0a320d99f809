"""Who may do what: one table of role × action → scope, checked inside the use cases.

Issue 10 moves every action of the service here; the actions added since (evaluation, monthly
statistics, the joint-punishment list) start it. A door (API, CLI, console) names the acting Principal
and calls the use case; it never checks a role itself.
"""
from __future__ import annotations

from .clients import Principal
from .errors import Forbidden

ALL, OWN_REGION, OWN_SUBJECT = "all", "own_region", "own_subject"

EVALUATION_READ = "evaluation.read"
REPORT_READ = "report.read"
JOINT_LIST_READ = "joint_list.read"

POLICY: dict[str, dict[str, str]] = {
    # A score is read like a status (第五条: results are recognised everywhere); a person reads their own.
    EVALUATION_READ: {"settlement": ALL, "staff": ALL, "admin": ALL, "person": OWN_SUBJECT},
    REPORT_READ: {"staff": OWN_REGION, "admin": ALL},
    JOINT_LIST_READ: {"staff": OWN_REGION, "admin": ALL},
}
# Who sees whole identity numbers in the answer (everyone else: 370102********1234).
FULL_NUMBERS: dict[str, frozenset[str]] = {
    EVALUATION_READ: frozenset({"staff", "admin"}),
    JOINT_LIST_READ: frozenset({"admin"}),  # the export for the public credit platform: admin only
}
_WORDS = {EVALUATION_READ: "查询信用评价", REPORT_READ: "查看月度统计报表", JOINT_LIST_READ: "导出失信联合惩戒对象名单"}


def roles_for(action: str) -> tuple[str, ...]:
    return tuple(POLICY[action])


def scope_for(principal: Principal, action: str) -> str:
    scope = POLICY[action].get(principal.role)
    if scope is None:
        raise Forbidden(f"角色 {principal.role} 无权{_WORDS[action]}（允许：{'、'.join(POLICY[action])}）。",
                        code="role_not_allowed")
    return scope


def check_subject(principal: Principal, action: str, subject_type: str, lookup_key: str) -> None:
    """`lookup_key`: the subject's key as the tables store it (a person's principal holds theirs)."""
    if scope_for(principal, action) == OWN_SUBJECT and (principal.subject_type, principal.subject_id_number) != (
            subject_type, lookup_key):
        raise Forbidden("个人客户端只能查询本人的信用信息。", code="not_own_subject")


def region_for(principal: Principal, action: str, asked: str | None) -> str | None:
    """The region the answer covers: staff only their own (asked or not); others what they asked (None: all)."""
    if scope_for(principal, action) == OWN_REGION:
        if asked and asked != principal.region:
            raise Forbidden(f"经办人员只能查看本统筹区（{principal.region}）的信息，不能查看统筹区{asked}。",
                            code="region_not_allowed")
        return principal.region
    return asked


def sees_full_numbers(principal: Principal, action: str) -> bool:
    return principal.role in FULL_NUMBERS.get(action, frozenset())
