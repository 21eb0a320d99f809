"""The evidence files of a case in the staff console (issue 12, for the case page of issue 11).

The case page includes `console/evidence_files.html` with `files` from
`services.evidence.evidence_of(uow, g.principal, "objection" | "repair", case_id)`; each file links to
the download below. Both go through the case file's access (the deciding region's staff, admin)."""
from __future__ import annotations

from flask import abort, current_app, g

from ..api.procedure import evidence_download as file_response
from ..services import evidence
from ..services.errors import ServiceError
from .auth import staff_page
from .console import bp


@bp.get("/evidence/<file_id>")
@staff_page
def evidence_file(file_id: str):
    c = current_app.extensions["credit_service"]
    try:
        row = evidence.evidence_file(c.uow(), g.principal, file_id)
    except ServiceError as error:  # another region's file: 403; none: 404 (the console's error page)
        abort(error.status)
    return file_response(row)
