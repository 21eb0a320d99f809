"""The credit evaluation of one subject on one day, with the contribution of each fact (信用评价积分).

Read from the in-process status index, like the status answer, so that the score shown here and in
every status answer is the same number (domain/evaluation.py)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Callable

from ..domain.evaluation import Evaluation, evaluate, model_on
from ..domain.identity import mask_id_number
from ..domain.rules import RuleBook
from ..domain.status import SubjectFacts
from . import access
from .clients import Principal
from .errors import NotFound


@dataclass(frozen=True)
class SubjectEvaluation:
    subject_type: str
    shown_id: str  # masked unless the principal may see whole numbers
    evaluation: Evaluation


def evaluate_subject(principal: Principal, subject_type: str, id_number: str, day: date, *,
                     facts_of: Callable[[str, str], SubjectFacts], lookup_key: Callable[[str, str], str],
                     rules: RuleBook) -> SubjectEvaluation:
    access.check_subject(principal, access.EVALUATION_READ, subject_type, lookup_key(subject_type, id_number))
    selection = model_on(rules, day)
    if selection is None:
        raise NotFound(f"{day.isoformat()}没有适用的信用评价模型（config/rules/ 中的 [evaluation]）。",
                       code="no_evaluation_model")
    shown = id_number if access.sees_full_numbers(principal, access.EVALUATION_READ) else mask_id_number(id_number)
    return SubjectEvaluation(subject_type, shown, evaluate(facts_of(subject_type, id_number), day, selection))
