from __future__ import annotations

import json

from flask import Blueprint, Response, current_app

from ..adapters import deadlines
from ..adapters.database import answers
from ..adapters.status_index import StaleIndex
from .problems import problem

blp = Blueprint("health", __name__)


@blp.get("/healthz")
def healthz():
    """{"status": "ok"} when the database answers."""
    if not _database_answers(current_app.extensions["credit_service"].engine):
        return problem(503, "database_unavailable", "数据库暂时不可用。")
    return Response('{"status": "ok"}', mimetype="application/json")


def _database_answers(engine) -> bool:
    # A probe must answer quickly even when the database hangs: it would otherwise hold a worker for the
    # whole statement deadline (connecting is bounded by the connect timeout).
    try:
        with deadlines.within(PROBE_SECONDS):
            answers(engine)
    except Exception:
        return False
    return True


PROBE_SECONDS = 2.0


@blp.get("/ping")
def ping():
    """Answers without touching anything: the hello-world baseline the benchmarks compare against."""
    return Response('{"status": "ok"}', mimetype="application/json")


@blp.get("/readyz")
def readyz():
    """Ready for traffic: the database answers and this process's status index is loaded and fresh."""
    container = current_app.extensions["credit_service"]
    index = container.index
    checks = {"database": "ok", "status_index": "ok" if index.loaded else "loading"}
    if index.loaded:
        try:
            index.ensure_fresh()
        except StaleIndex:
            checks["status_index"] = "stale"
    if not _database_answers(container.engine):
        checks["database"] = "unavailable"
    if checks["database"] != "ok":
        return problem(503, "database_unavailable", "数据库暂时不可用，本实例暂不接收流量。", checks=checks)
    if checks["status_index"] == "stale":
        return problem(503, "status_index_stale", f"状态索引已{index.age_seconds():.0f}秒未能刷新（上限"
                       f"{index.max_age_seconds:.0f}秒），本实例暂不接收流量。", title="服务尚未就绪", checks=checks)
    if checks["status_index"] != "ok":
        return problem(503, "not_ready", "状态索引尚在加载，本实例暂不接收流量。", title="服务尚未就绪", checks=checks)
    return Response(json.dumps({"status": "ready", "checks": checks}), mimetype="application/json")


@blp.get("/metrics")
def metrics():
    """Prometheus text exposition (no personal data: requests are labelled by route template)."""
    from prometheus_client import CONTENT_TYPE_LATEST

    from ..metrics import render
    return Response(render(current_app.extensions["credit_service"]), content_type=CONTENT_TYPE_LATEST)
