"""What the rules refuse, named by a stable code. Which HTTP status a code answers with is the API's
to say (credit_service/api/problems.py holds the one table); the domain knows no protocol."""
from __future__ import annotations


class RuleRefusal(Exception):
    """`code`: the problem code a caller sees; `field`: the request member it concerns, if one does."""

    code = "validation_failed"
    field: str | None = None

    def __init__(self, detail: str, code: str | None = None, field: str | None = None):
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        if field is not None:
            self.field = field
