"""May a claim be settled? The insured person's and every prescribing/dispensing practitioner's status.

《济南市医疗保障基金使用监督管理办法》第十七条: prescriptions (医嘱) written by a physician or
pharmacist while their service is suspended are not settled; 医保发〔2024〕23号: neither are those
of a suspended or terminated payment qualification — except emergency and rescue care (急救、抢救).
Pure: the caller gives each party's status (domain.status.status_on with the claim's `emergency`).
"""
from __future__ import annotations

from dataclasses import dataclass

from .practitioners import (QUALIFICATION_REVOKED, QUALIFICATION_SUSPENSION, QUALIFICATION_TERMINATION,
                            SERVICE_SUSPENSION)
from .status import MeasureFact, Status

_WHY = {
    "settlement_suspension": ("insured_settlement_suspended", "暂停医疗费用联网结算"),
    SERVICE_SUSPENSION: ("practitioner_service_suspended",
                         "中止医保医药服务，其间开具的处方（医嘱）不予医保结算（济南市医疗保障基金使用监督管理办法第十七条）"),
    QUALIFICATION_SUSPENSION: ("practitioner_qualification_suspended", "暂停医保支付资格，其间的医药费用不予医保结算"),
    QUALIFICATION_TERMINATION: ("practitioner_qualification_terminated", "医保支付资格已终止，其医药费用不予医保结算"),
    QUALIFICATION_REVOKED: ("practitioner_qualification_revoked", "医保医（药）师资格已取消，其医药费用不予医保结算"),
}
_PARTY = {"insured": "参保人", "physician": "医保医师", "pharmacist": "医保药师"}


@dataclass(frozen=True)
class Party:
    subject_type: str
    shown_id: str  # masked unless the caller may see the whole number
    status: Status


@dataclass(frozen=True)
class Reason:
    code: str
    party: Party
    measure: MeasureFact
    blocking: bool
    detail: str


@dataclass(frozen=True)
class ClaimCheck:
    settleable: bool
    reasons: tuple[Reason, ...]
    emergency: bool


def check_claim(insured: Party, practitioners: list[Party], emergency: bool) -> ClaimCheck:
    """Every restriction of every party is a reason; a practitioner's is set aside for emergency care."""
    reasons = []
    for party in (insured, *practitioners):
        for m in party.status.restrictions:
            code, words = _WHY.get(m.kind, (f"{m.kind}", m.kind))
            exempt = emergency and party.subject_type != "insured"
            until = f"至{m.restores_on.isoformat()}恢复" if m.restores_on else "无恢复日期"
            detail = (f"{_PARTY[party.subject_type]}{party.shown_id}自{m.starts_on.isoformat()}起{words}（{until}，"
                      f"统筹区{m.region}）。")
            if exempt:
                detail += "本次为急救、抢救，不受此限，准予结算。"
            reasons.append(Reason(code, party, m, not exempt, detail))
    return ClaimCheck(settleable=not any(r.blocking for r in reasons), reasons=tuple(reasons), emergency=emergency)
