from __future__ import annotations

from flask import Blueprint, Response, current_app
from sqlalchemy import text

from .problems import problem

blp = Blueprint("health", __name__)


@blp.get("/healthz")
def healthz():
    """{"status": "ok"} when the database answers."""
    try:
        with current_app.extensions["credit_service"].engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception:
        return problem(503, "database_unavailable", "数据库暂时不可用。")
    return Response('{"status": "ok"}', mimetype="application/json")


@blp.get("/ping")
def ping():
    """Answers without touching anything: the hello-world baseline the benchmarks compare against."""
    return Response('{"status": "ok"}', mimetype="application/json")
