"""Who may do what: one table of role × action → scope, checked inside the use cases.

This is the only module that names the roles. A door (API, fast path, CLI, console, self-service)
names the acting Principal and calls a use case; it never checks a role itself. (The token API also
asks `scope_for` before it parses a body, so that a caller who may not act at all hears 403, not 422.)
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from .errors import Forbidden

if TYPE_CHECKING:
    from .clients import Principal

# -- the roles (docs/access.md) -----------------------------------------------------------------
SETTLEMENT, REPORTER, STAFF, PERSON, ADMIN = "settlement", "reporter", "staff", "person", "admin"
ROLES = (SETTLEMENT, REPORTER, STAFF, PERSON, ADMIN)
CONSOLE_ROLES = (STAFF, ADMIN)  # the roles a console account (or a staff single sign-on) may hold
ROLE_NAMES = {STAFF: "经办人员", ADMIN: "管理员", PERSON: "本人"}


def bound_to_region(role: str) -> bool:
    """A client or account of this role acts for one pooling region (it must be given one)."""
    return role == STAFF


def bound_to_subject(role: str) -> bool:
    """A client of this role is one person (it must be given its subject)."""
    return role == PERSON


# -- scopes and actions -------------------------------------------------------------------------
ALL, OWN_REGION, OWN_SUBJECT = "all", "own_region", "own_subject"

STATUS_READ = "status.read"  # one subject's settlement status (GET …/status, POST /status/query)
STATUS_BATCH = "status.batch"  # many subjects at once, and the claims check
RECORD_READ = "record.read"  # a natural-year record: staff see their own region's part of it
WORKLIST_READ = "worklist.read"
AUDIT_READ = "audit.read"
VIOLATION_WRITE = "violation.write"
MONTHS_OVERRIDE = "violation.months"  # choose the months within the band (第九条)
EXPERT_MARK = "expert.mark"  # 第八条第一项: mark, and withdraw a mark
EXPERT_READ = "expert.read"  # list a practitioner's marks
REREGISTER = "qualification.reregister"  # record 重新登记备案 after a terminated qualification's bar
CASE_READ = "case.read"  # a measure's notice, an objection, a repair
CASE_FILE = "case.file"  # file an objection or a repair
CASE_DECIDE = "case.decide"  # serve a notice, register evidence, decide an objection or a repair
PAPER_FILING = "case.paper_filing"  # date a filing by the day its paper was received
WEBHOOK_ADMIN = "webhook.admin"
WEBHOOK_SUBJECT_KEYS = "webhook.subject_keys"
EVALUATION_READ = "evaluation.read"
REPORT_READ = "report.read"
JOINT_LIST_READ = "joint_list.read"

# The order of the roles is the order the refusal lists them in.
POLICY: dict[str, dict[str, str]] = {
    # 第五条: results are recognised everywhere, so the status is readable in every region; a person
    # reads their own.
    STATUS_READ: {SETTLEMENT: ALL, STAFF: ALL, ADMIN: ALL, PERSON: OWN_SUBJECT},
    STATUS_BATCH: {SETTLEMENT: ALL, STAFF: ALL, ADMIN: ALL},
    RECORD_READ: {STAFF: OWN_REGION, ADMIN: ALL, PERSON: OWN_SUBJECT},
    WORKLIST_READ: {STAFF: OWN_REGION, ADMIN: ALL},
    AUDIT_READ: {STAFF: OWN_REGION, ADMIN: ALL},
    VIOLATION_WRITE: {REPORTER: ALL, STAFF: OWN_REGION, ADMIN: ALL},
    MONTHS_OVERRIDE: {STAFF: OWN_REGION, ADMIN: ALL},
    EXPERT_MARK: {STAFF: OWN_REGION, ADMIN: ALL},
    EXPERT_READ: {STAFF: OWN_REGION, ADMIN: ALL},
    # The measure's case file: the region that decided the termination records the re-registration.
    REREGISTER: {STAFF: OWN_REGION, ADMIN: ALL},
    # A case file belongs to the pooling region that decided the measure (docs/access.md).
    CASE_READ: {STAFF: OWN_REGION, ADMIN: ALL, PERSON: OWN_SUBJECT},
    CASE_FILE: {STAFF: OWN_REGION, ADMIN: ALL, PERSON: OWN_SUBJECT},
    CASE_DECIDE: {STAFF: OWN_REGION, ADMIN: ALL},
    PAPER_FILING: {STAFF: OWN_REGION, ADMIN: ALL},
    WEBHOOK_ADMIN: {ADMIN: ALL},
    WEBHOOK_SUBJECT_KEYS: {ADMIN: ALL, SETTLEMENT: ALL},
    # A score is read like a status (第五条); a person reads their own.
    EVALUATION_READ: {SETTLEMENT: ALL, STAFF: ALL, ADMIN: ALL, PERSON: OWN_SUBJECT},
    REPORT_READ: {STAFF: OWN_REGION, ADMIN: ALL},
    JOINT_LIST_READ: {STAFF: OWN_REGION, ADMIN: ALL},
}
_STAFF_AND_ADMIN = frozenset({STAFF, ADMIN})
# Who sees whole identity numbers in the answer (everyone else: 370102********1234).
FULL_NUMBERS: dict[str, frozenset[str]] = {
    STATUS_READ: _STAFF_AND_ADMIN, STATUS_BATCH: _STAFF_AND_ADMIN, RECORD_READ: _STAFF_AND_ADMIN,
    CASE_READ: _STAFF_AND_ADMIN, CASE_FILE: _STAFF_AND_ADMIN, CASE_DECIDE: _STAFF_AND_ADMIN,
    VIOLATION_WRITE: _STAFF_AND_ADMIN, EVALUATION_READ: _STAFF_AND_ADMIN,
    JOINT_LIST_READ: frozenset({ADMIN}),  # the export for the public credit platform: admin only
}
_WORDS = {EVALUATION_READ: "查询信用评价", REPORT_READ: "查看月度统计报表", JOINT_LIST_READ: "导出失信联合惩戒对象名单",
          REREGISTER: "登记重新登记备案", EXPERT_READ: "查看专家库推荐"}
_OWN_SUBJECT_ONLY = "个人客户端只能查询本人的信用信息。"
# Why a staff member is refused another region: {own} their region, {other} the one asked or written.
_OTHER_REGION = {
    CASE_READ: "经办人员仅可查阅、处理本统筹区（{own}）的案卷，该案卷属统筹区{other}。",
    VIOLATION_WRITE: "经办人员仅可处理本统筹区（{own}）的信息，不能写入统筹区{other}。",
    WORKLIST_READ: "经办人员只能查看本统筹区（{own}）的工作清单。",
    AUDIT_READ: "经办人员只能查看本统筹区（{own}）的审计记录。",
    REPORT_READ: "经办人员只能查看本统筹区（{own}）的信息，不能查看统筹区{other}。",
}
_OTHER_REGION.update({CASE_FILE: _OTHER_REGION[CASE_READ], CASE_DECIDE: _OTHER_REGION[CASE_READ],
                      PAPER_FILING: _OTHER_REGION[CASE_READ], REREGISTER: _OTHER_REGION[CASE_READ],
                      EXPERT_READ: _OTHER_REGION[REPORT_READ], EXPERT_MARK: _OTHER_REGION[VIOLATION_WRITE],
                      MONTHS_OVERRIDE: _OTHER_REGION[VIOLATION_WRITE], JOINT_LIST_READ: _OTHER_REGION[REPORT_READ]})


def roles_for(action: str) -> tuple[str, ...]:
    return tuple(POLICY[action])


def scope_of(principal: "Principal | None", action: str) -> str | None:
    """The scope, or None if the principal may not do this at all (cheap: the fast path asks it)."""
    return None if principal is None else POLICY[action].get(principal.role)


def scope_for(principal: "Principal", action: str) -> str:
    scope = POLICY[action].get(principal.role)
    if scope is None:
        if action == MONTHS_OVERRIDE:
            raise Forbidden(f"只有经办人员（{'/'.join(POLICY[action])}）可以在档次范围内指定暂停月数。",
                            code="override_not_allowed")
        raise Forbidden(f"角色 {principal.role} 无权{_WORDS.get(action, '执行此操作')}"
                        f"（允许：{'、'.join(POLICY[action])}）。", code="role_not_allowed")
    return scope


def may(principal: "Principal | None", action: str) -> bool:
    return scope_of(principal, action) is not None


def owns(principal: "Principal", subject_type: str, lookup_key: str) -> bool:
    return (principal.subject_type, principal.subject_lookup_key) == (subject_type, lookup_key)


def check_subject(principal: "Principal", action: str, subject_type: str, lookup_key: str) -> str:
    """`lookup_key`: the subject's key as the tables store it (a person's principal holds theirs)."""
    scope = scope_for(principal, action)
    if scope == OWN_SUBJECT and not owns(principal, subject_type, lookup_key):
        raise Forbidden(_OWN_SUBJECT_ONLY, code="not_own_subject")
    return scope


def check_number(principal: "Principal", action: str, subject_type: str, id_number: str,
                 key_of: Callable[[str, str], str]) -> str:
    """check_subject for an identity number given in the request (the key computed only when needed)."""
    scope = scope_for(principal, action)
    if scope == OWN_SUBJECT and not owns(principal, subject_type, key_of(subject_type, id_number)):
        raise Forbidden(_OWN_SUBJECT_ONLY, code="not_own_subject")
    return scope


def may_read_number(principal: "Principal | None", action: str, subject_type: str, id_number: str,
                    key_of: Callable[[str, str], str]) -> bool:
    """check_number without raising (the fast path: anything refused is answered by the Flask view)."""
    scope = scope_of(principal, action)
    return scope is not None and (scope != OWN_SUBJECT or owns(principal, subject_type,
                                                                key_of(subject_type, id_number)))


def check_region(principal: "Principal", action: str, region: str) -> None:
    """Acting on something of `region` (writing into it, or a case file it decided)."""
    if scope_for(principal, action) == OWN_REGION and principal.region != region:
        raise _other_region(principal, action, region)


def check_case_file(principal: "Principal", action: str, subject_type: str, lookup_key: str, region: str) -> None:
    """A case file — a measure, its notice, objection or repair — belongs to the pooling region that
    decided the measure: staff read and act on their own region's only, a person on their own only,
    admin on all. The status stays readable everywhere (第五条)."""
    scope = check_subject(principal, action, subject_type, lookup_key)
    if scope == OWN_REGION and principal.region != region:
        raise _other_region(principal, action, region)


def region_for(principal: "Principal", action: str, asked: str | None) -> str | None:
    """The region the answer covers: staff only their own (asked or not); others what they asked (None: all)."""
    if scope_for(principal, action) == OWN_REGION:
        if asked and asked != principal.region:
            raise _other_region(principal, action, asked)
        return principal.region
    return asked


def _other_region(principal: "Principal", action: str, other: str) -> Forbidden:
    return Forbidden(_OTHER_REGION[action].format(own=principal.region, other=other), code="region_not_allowed")


def sees_full_numbers(principal: "Principal", action: str) -> bool:
    return principal.role in FULL_NUMBERS.get(action, frozenset())


def full_numbers_for(action: str) -> frozenset[str]:
    """The roles that see whole numbers in this action's answers (for a per-request flag computed once)."""
    return FULL_NUMBERS.get(action, frozenset())


def operator(name: str) -> "Principal":
    """The person at the command line: the operator of the service, who may do what an admin may."""
    from .clients import Principal
    return Principal(client_id="cli", name=name, role=ADMIN)
