"""SQLAlchemy 2 typed models. Money is stored as integer fen (分): exact on every database.

Identity numbers (PIPL): every `id_number` / `subject_id_number` column holds the subject's lookup
key (keyed HMAC, adapters/pii.py), never the number; the number itself is kept only sealed
(AES-GCM) in `subjects`, for the staff who may see it."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (BigInteger, Boolean, Date, DateTime, ForeignKey, Index, Integer, String, Text,
                        TypeDecorator, UniqueConstraint, false, text)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Yuan(TypeDecorator):
    """Decimal yuan in Python, BIGINT fen in the database."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect):
        return None if value is None else int(value * 100)

    def process_result_value(self, value: int | None, dialect):
        return None if value is None else Decimal(value).scaleb(-2)


class Base(DeclarativeBase):
    pass


class SubjectRow(Base):
    """Lookup key → the sealed identity number. A row whose key was superseded by a rotation is kept
    (retired_at set): audit events written under the old key still show the number to staff."""

    __tablename__ = "subjects"

    subject_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    subject_type: Mapped[str] = mapped_column(String(16))
    id_sealed: Mapped[str] = mapped_column(String(128))
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ViolationRow(Base):
    __tablename__ = "violations"
    __table_args__ = (
        UniqueConstraint("source", "source_ref", name="uq_violations_source_ref"),
        Index("ix_violations_subject_year", "id_number", "subject_type", "record_year"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    source: Mapped[str] = mapped_column(String(64))
    source_ref: Mapped[str] = mapped_column(String(128))
    body_hash: Mapped[str] = mapped_column(String(64))
    subject_type: Mapped[str] = mapped_column(String(16))
    id_number: Mapped[str] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(String(64))
    region: Mapped[str] = mapped_column(String(6))
    occurred_on: Mapped[date] = mapped_column(Date)
    determined_on: Mapped[date] = mapped_column(Date)
    record_year: Mapped[int] = mapped_column(Integer)
    fund_loss: Mapped[Decimal] = mapped_column("fund_loss_fen", Yuan)
    handling: Mapped[str] = mapped_column(String(16))
    fraud: Mapped[bool] = mapped_column(Boolean)
    points: Mapped[int | None] = mapped_column(Integer)
    category: Mapped[str | None] = mapped_column(String(32))  # practitioners: the agreement's category
    months_override: Mapped[int | None] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(Text, default="")
    rule_set: Mapped[str | None] = mapped_column(String(64))
    notes: Mapped[str] = mapped_column(Text, default="")
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Position within its intake request: with recorded_at, the order the violations were decided in
    # (a year is recomputed in that order after an objection).
    intake_order: Mapped[int] = mapped_column(Integer, default=0)
    # An objection upheld (第十条) voids the record; a modified one corrects the loss, keeping the reported one.
    voided_on: Mapped[date | None] = mapped_column(Date)
    voided_by: Mapped[str | None] = mapped_column(String(32))
    reported_fund_loss: Mapped[Decimal | None] = mapped_column("reported_fund_loss_fen", Yuan)


class MeasureRow(Base):
    __tablename__ = "measures"
    __table_args__ = (
        Index("ix_measures_subject", "id_number", "subject_type"),
        # The sweeps look for measures due to start or to end.
        Index("ix_measures_due_start", "starts_on", sqlite_where=text("activated_on IS NULL"),
              postgresql_where=text("activated_on IS NULL")),
        Index("ix_measures_due_end", "restores_on", sqlite_where=text("ended_on IS NULL"),
              postgresql_where=text("ended_on IS NULL")),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    violation_id: Mapped[str] = mapped_column(ForeignKey("violations.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    subject_type: Mapped[str] = mapped_column(String(16))
    id_number: Mapped[str] = mapped_column(String(64))
    region: Mapped[str] = mapped_column(String(6))
    record_year: Mapped[int] = mapped_column(Integer)
    starts_on: Mapped[date] = mapped_column(Date)
    restores_on: Mapped[date | None] = mapped_column(Date)
    months: Mapped[int | None] = mapped_column(Integer)
    rule_set: Mapped[str] = mapped_column(String(64))
    article: Mapped[str] = mapped_column(String(32))
    explanation: Mapped[str] = mapped_column(Text)
    past_expiry: Mapped[bool] = mapped_column(Boolean, default=False)
    # qualification terminated/revoked: first day re-registration is allowed (9999-12-31: never)
    reregistration_from: Mapped[date | None] = mapped_column(Date)
    revoked_on: Mapped[date | None] = mapped_column(Date)
    revoked_by: Mapped[str | None] = mapped_column(String(32))  # the objection whose decision revoked it
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Set by the sweeps, each to the day the transition happened (not the day the sweep ran).
    activated_on: Mapped[date | None] = mapped_column(Date)
    ended_on: Mapped[date | None] = mapped_column(Date)
    credit_state: Mapped[str | None] = mapped_column(String(16))  # "restored" | "unrepaired" after the end
    credit_restored_on: Mapped[date | None] = mapped_column(Date)
    credit_restored_how: Mapped[str | None] = mapped_column(String(16))  # "automatic" | "repair"


class SubjectChangeRow(Base):
    """Append-only feed that tells every process which subjects (or clients) to reload."""

    __tablename__ = "subject_changes"

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                     autoincrement=True)
    subject_type: Mapped[str] = mapped_column(String(16))
    id_number: Mapped[str] = mapped_column(String(64))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Which process wrote it: that process already applied the change to its own index.
    origin: Mapped[str | None] = mapped_column(String(48))


class ExpertRecommendationRow(Base):
    """Staff mark an outstanding practitioner for a year (第八条第一项：优先推荐入医保专家库)."""

    __tablename__ = "expert_recommendations"
    __table_args__ = (UniqueConstraint("subject_type", "id_number", "year", name="uq_expert_recommendations"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    subject_type: Mapped[str] = mapped_column(String(16))
    id_number: Mapped[str] = mapped_column(String(64), index=True)
    year: Mapped[int] = mapped_column(Integer)
    region: Mapped[str] = mapped_column(String(6))
    reason: Mapped[str] = mapped_column(Text)
    marked_by: Mapped[str] = mapped_column(String(64))
    marked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ApiClientRow(Base):
    __tablename__ = "api_clients"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    region: Mapped[str | None] = mapped_column(String(6))
    subject_type: Mapped[str | None] = mapped_column(String(16))
    subject_id_number: Mapped[str | None] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # refused from then on


class JobRunRow(Base):
    """What each scheduled sweep last did, for operators and the catch-up logic."""

    __tablename__ = "job_runs"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    job: Mapped[str] = mapped_column(String(64), index=True)
    as_of: Mapped[date] = mapped_column(Date)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str] = mapped_column(Text, default="")


class WebhookRow(Base):
    """A settlement system's subscription to status changes (POST /api/v1/webhooks)."""

    __tablename__ = "webhooks"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    # Kept as given: signing needs the secret itself (it is a shared key, not a password).
    secret: Mapped[str] = mapped_column(String(256))
    events: Mapped[str] = mapped_column(Text)  # JSON array of event types
    # Feed position at registration: changes before it are not pushed. `cursor`: the highest feed
    # entry already turned into deliveries (entries a little below it are re-checked: see jobs/webhooks.py).
    start_seq: Mapped[int] = mapped_column(BigInteger)
    cursor: Mapped[int] = mapped_column(BigInteger)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class WebhookDeliveryRow(Base):
    """One event for one webhook: pending until the receiver answers 2xx, dead after N failures."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("webhook_id", "seq", name="uq_webhook_deliveries_seq"),
        Index("ix_webhook_deliveries_due", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    webhook_id: Mapped[str] = mapped_column(ForeignKey("webhooks.id"))
    seq: Mapped[int] = mapped_column(BigInteger)  # the subject_changes entry it reports
    event_id: Mapped[str] = mapped_column(String(64))
    event_type: Mapped[str] = mapped_column(String(32))
    payload: Mapped[str] = mapped_column(Text)  # the exact bytes signed and sent, every attempt alike
    state: Mapped[str] = mapped_column(String(16))  # pending | delivered | dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class WebhookAttemptRow(Base):
    """The delivery log: every POST made, with what the receiver answered."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("webhook_deliveries.id"), index=True)
    attempted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int] = mapped_column(Integer)

class NoticeRow(Base):
    """信用结果告知书: its receipt starts the objection window (第十条)."""

    __tablename__ = "notices"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    measure_id: Mapped[str] = mapped_column(ForeignKey("measures.id"), unique=True)
    subject_type: Mapped[str] = mapped_column(String(16))
    id_number: Mapped[str] = mapped_column(String(64), index=True)
    region: Mapped[str] = mapped_column(String(6))
    served_on: Mapped[date] = mapped_column(Date)
    received_on: Mapped[date] = mapped_column(Date)
    objection_deadline: Mapped[date] = mapped_column(Date)
    deadline_provisional: Mapped[bool] = mapped_column(Boolean)
    window_closed_on: Mapped[date | None] = mapped_column(Date)
    recorded_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ObjectionRow(Base):
    """异议申请 and its review (复核)."""

    __tablename__ = "objections"
    __table_args__ = (
        # One open objection per measure, also under concurrent filings.
        Index("uq_objections_open", "measure_id", unique=True,
              sqlite_where=text("state = 'open'"), postgresql_where=text("state = 'open'")),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    measure_id: Mapped[str] = mapped_column(ForeignKey("measures.id"), index=True)
    subject_type: Mapped[str] = mapped_column(String(16))
    id_number: Mapped[str] = mapped_column(String(64), index=True)
    region: Mapped[str] = mapped_column(String(6), index=True)
    filed_on: Mapped[date] = mapped_column(Date)
    # True: a date staff entered (a paper filing's day of receipt); False: the service's day of filing.
    filed_on_entered: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    reason: Mapped[str] = mapped_column(Text)
    evidence: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of strings
    acceptance_note: Mapped[str] = mapped_column(Text, default="")
    evidence_complete_on: Mapped[date | None] = mapped_column(Date)
    review_due_on: Mapped[date] = mapped_column(Date)
    review_due_provisional: Mapped[bool] = mapped_column(Boolean)
    overdue_on: Mapped[date | None] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(16))  # "open" | "decided"
    outcome: Mapped[str | None] = mapped_column(String(16))
    decided_on: Mapped[date | None] = mapped_column(Date)
    decision_reason: Mapped[str | None] = mapped_column(Text)
    corrected_fund_loss: Mapped[Decimal | None] = mapped_column("corrected_fund_loss_fen", Yuan)
    decided_late: Mapped[bool | None] = mapped_column(Boolean)
    filed_by: Mapped[str] = mapped_column(String(64))
    decided_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class RepairRow(Base):
    """信用修复申请 (第十一条、第十二条)."""

    __tablename__ = "repairs"
    __table_args__ = (
        Index("uq_repairs_open", "measure_id", unique=True,
              sqlite_where=text("state = 'open'"), postgresql_where=text("state = 'open'")),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    measure_id: Mapped[str] = mapped_column(ForeignKey("measures.id"), index=True)
    subject_type: Mapped[str] = mapped_column(String(16))
    id_number: Mapped[str] = mapped_column(String(64), index=True)
    region: Mapped[str] = mapped_column(String(6), index=True)
    filed_on: Mapped[date] = mapped_column(Date)
    filed_on_entered: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    corrected: Mapped[bool] = mapped_column(Boolean)
    adverse_effects_removed: Mapped[bool] = mapped_column(Boolean)
    commitment: Mapped[bool] = mapped_column(Boolean)
    evidence: Mapped[str] = mapped_column(Text, default="[]")
    reply_due_on: Mapped[date] = mapped_column(Date)
    reply_due_provisional: Mapped[bool] = mapped_column(Boolean)
    overdue_on: Mapped[date | None] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(16))  # "open" | "approved" | "rejected"
    decided_on: Mapped[date | None] = mapped_column(Date)
    decision_reason: Mapped[str | None] = mapped_column(Text)
    filed_by: Mapped[str] = mapped_column(String(64))
    decided_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class MeasureEventRow(Base):
    """Each transition of a measure, once: the unique key makes a second runner's attempt fail
    instead of notifying twice."""

    __tablename__ = "measure_events"
    __table_args__ = (UniqueConstraint("measure_id", "event", "ref", name="uq_measure_events"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    measure_id: Mapped[str] = mapped_column(String(32), index=True)
    subject_type: Mapped[str] = mapped_column(String(16))
    id_number: Mapped[str] = mapped_column(String(64))
    event: Mapped[str] = mapped_column(String(32))
    ref: Mapped[str] = mapped_column(String(32), default="")  # the notice/objection/repair it concerns
    on: Mapped[date] = mapped_column(Date)
    detail: Mapped[str] = mapped_column(Text, default="")
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AuditEventRow(Base):
    """The hash-chained audit trail (services/audit.py): `payload` is the canonical JSON that is hashed;
    the other columns mirror it for queries."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_subject", "id_number", "subject_type", "day"),
                      Index("ix_audit_events_region_day", "region", "day"))

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                     autoincrement=False)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    day: Mapped[date] = mapped_column(Date)  # Asia/Shanghai
    action: Mapped[str] = mapped_column(String(48))
    entity: Mapped[str] = mapped_column(String(24))
    entity_id: Mapped[str] = mapped_column(String(64))
    subject_type: Mapped[str | None] = mapped_column(String(16))
    id_number: Mapped[str | None] = mapped_column(String(64))
    region: Mapped[str | None] = mapped_column(String(6))
    actor: Mapped[str] = mapped_column(String(128))
    payload: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
