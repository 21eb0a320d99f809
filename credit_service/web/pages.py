"""Rendering a page: one template per page, with who is signed in shown on every one."""
from __future__ import annotations

from flask import current_app, g, render_template

from ..services.access import ROLE_NAMES  # noqa: F401 (the console shows who is signed in)

SUBJECT_NAMES = {"insured": "参保人", "physician": "医保医师", "pharmacist": "医保药师"}


def region_name(code: str | None) -> str:
    if not code:
        return "全省"
    regions = current_app.extensions["credit_service_web"].documents.regions
    region = regions.get(code)
    return f"{region.name}（{code}）" if region else code


def render_page(template: str, *, title: str, status: int = 200, **context):
    """`template` under templates/ (console/… or me/…); `viewer` describes the signed-in user."""
    return render_template(template, title=title, viewer=getattr(g, "viewer", None), **context), status
