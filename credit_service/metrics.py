"""Prometheus metrics (GET /metrics).

Requests are labelled by route template (`/api/v1/subjects/<subject_type>/<id_number>/status`), never
by the raw path: paths carry identity numbers, and one series per person would also swamp Prometheus.

Counters live in this module's registry. Gauges that describe the database (outbox backlog, and
whatever other modules register with `gauge_hook`, e.g. overdue deadlines) are computed when
scraped. With several worker processes set PROMETHEUS_MULTIPROC_DIR (an empty directory, cleared at
deploy) so that every worker's counters are summed; otherwise each scrape sees one worker.
"""
from __future__ import annotations

import logging
import os
from typing import Callable

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

log = logging.getLogger(__name__)

REGISTRY = CollectorRegistry(auto_describe=True)
REQUESTS = Counter("credit_service_http_requests_total", "HTTP requests by route template and status",
                   ["method", "endpoint", "status"], registry=REGISTRY)
LATENCY = Histogram("credit_service_http_request_duration_seconds", "HTTP request latency by route template",
                    ["method", "endpoint"], registry=REGISTRY,
                    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
RATE_LIMITED = Counter("credit_service_rate_limited_total", "Requests refused with 429", ["endpoint"],
                       registry=REGISTRY)
JOB_RUNS = Counter("credit_service_job_runs_total", "Scheduled sweeps run, by outcome (ok, failed, skipped)",
                   ["job", "outcome"], registry=REGISTRY)
INDEX_ROWS_SKIPPED = Counter("credit_service_status_index_rows_skipped_total",
                             "Stored rows the status index could not read and skipped (their subjects answer an error)",
                             ["table"], registry=REGISTRY)
INDEX_CATCH_UPS = Counter("credit_service_status_index_catch_ups_total",
                          "Status checks that read a notified change from the feed themselves (the poller was "
                          "late), by outcome (ok; failed: answered 503)", ["outcome"], registry=REGISTRY)
REPLICA_READS = Counter("credit_service_replica_reads_total",
                        "Read-only units of work (records, reports, audit, lists, worklist) with a read replica "
                        "configured, by the database read (replica, primary) and why (ok; lag: beyond "
                        "CREDIT_SERVICE_READ_MAX_LAG_SECONDS; down: not answering or not a standby; own_write: "
                        "the replica has not replayed this node's latest write)", ["source", "reason"],
                        registry=REGISTRY)
WEBHOOK_ATTEMPTS = Counter("credit_service_webhook_attempts_total", "Webhook delivery attempts by outcome",
                           ["outcome"], registry=REGISTRY)

# name -> (help, function(container) -> float | {label value: float}). Called at scrape time; a failing
# hook is left out of that scrape.
GAUGE_HOOKS: dict[str, tuple[str, Callable]] = {}


LABEL_OF: dict[str, str] = {"credit_service_overdue_deadlines": "kind"}  # the label of a dict-valued hook


def gauge_hook(name: str, help_text: str):
    """Register a gauge computed at scrape time from the container, e.g.

        @gauge_hook("credit_service_outbox_backlog", "…")
        def backlog(container) -> dict[str, int]: ...   # one series per key (label "state")
    """
    def register(function: Callable) -> Callable:
        GAUGE_HOOKS[name] = (help_text, function)
        return function
    return register


class _HookCollector:
    def __init__(self, container):
        self.container = container

    def collect(self):
        from .adapters.deadlines import within
        for name, (help_text, function) in list(GAUGE_HOOKS.items()):
            try:
                with within(2.0):  # a scrape must not hold a worker while the database hangs
                    value = function(self.container)
            except Exception:  # the database may be away: leave the gauge out rather than fail the scrape
                log.warning("metric %s could not be computed", name, exc_info=True)
                continue
            family = GaugeMetricFamily(name, help_text)
            if isinstance(value, dict):
                family = GaugeMetricFamily(name, help_text, labels=[LABEL_OF.get(name, "state")])
                for label, number in value.items():
                    family.add_metric([label], number)
            else:
                family.add_metric([], value)
            yield family


def render(container) -> bytes:
    counters = REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess
        counters = CollectorRegistry()
        multiprocess.MultiProcessCollector(counters)
    hooks = CollectorRegistry(auto_describe=False)
    hooks.register(_HookCollector(container))
    return generate_latest(counters) + generate_latest(hooks)


@gauge_hook("credit_service_status_index_loaded", "1 when this process's status index is loaded")
def _index_loaded(container) -> float:
    return 1.0 if container.index.loaded else 0.0


@gauge_hook("credit_service_status_index_age_seconds",
            "Seconds since this process's status index last refreshed successfully (poll or rebuild); "
            "+Inf before the first load")
def _index_age(container) -> float:
    return container.index.age_seconds()


@gauge_hook("credit_service_status_index_max_age_seconds",
            "Older than this, the status index is not answered from (503 status_index_stale)")
def _index_max_age(container) -> float:
    return container.index.max_age_seconds


@gauge_hook("credit_service_overdue_deadlines",
            "Open objections past their review due date and repair applications past their reply due date")
def _overdue(container) -> dict[str, int]:
    from sqlalchemy import func, select

    from .adapters.orm import ObjectionRow, RepairRow
    today = container.clock.today()
    with container.session_factory() as session:
        return {
            "review": session.scalar(select(func.count()).select_from(ObjectionRow).where(
                ObjectionRow.state == "open", ObjectionRow.review_due_on < today)) or 0,
            "repair_reply": session.scalar(select(func.count()).select_from(RepairRow).where(
                RepairRow.state == "open", RepairRow.reply_due_on < today)) or 0,
        }
