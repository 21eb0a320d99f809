"""SQLAlchemy 2 typed models. Money is stored as integer fen (分): exact on every database.

Identity numbers (PIPL): every `lookup_key` / `subject_lookup_key` column holds the subject's lookup
key (keyed HMAC, adapters/pii.py), never the number; the number itself is kept only sealed
(AES-GCM) in `subjects`, for the staff who may see it. (Until migration 0019 these columns were named
`id_number` / `subject_id_number`; until 0020 `subjects.lookup_key` and `web_sessions.lookup_key` were
`subject_key`, now only the webhook events' per-webhook pseudonym.)"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (BigInteger, Boolean, Date, DateTime, ForeignKey, Index, Integer, LargeBinary, String,
                        Text, TypeDecorator, UniqueConstraint, false, text)
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

    lookup_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    subject_type: Mapped[str] = mapped_column(String(16))
    id_sealed: Mapped[str] = mapped_column(String(128))
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ViolationRow(Base):
    __tablename__ = "violations"
    __table_args__ = (
        UniqueConstraint("source", "source_ref", name="uq_violations_source_ref"),
        Index("ix_violations_subject_year", "lookup_key", "subject_type", "record_year"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    source: Mapped[str] = mapped_column(String(64))
    source_ref: Mapped[str] = mapped_column(String(128))
    body_hash: Mapped[str] = mapped_column(String(64))
    subject_type: Mapped[str] = mapped_column(String(16))
    lookup_key: Mapped[str] = mapped_column(String(64))
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
        Index("ix_measures_subject", "lookup_key", "subject_type"),
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
    lookup_key: Mapped[str] = mapped_column(String(64))
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
    # Why the credit state is what it is (第十二条: restored automatically at the end, also when a repair
    # filed within the period was approved after it; or by a repair approved later; or not yet).
    credit_note: Mapped[str | None] = mapped_column(Text)


class SubjectChangeRow(Base):
    """Append-only feed that tells every process which subjects (or clients) to reload."""

    __tablename__ = "subject_changes"

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                     autoincrement=True)
    subject_type: Mapped[str] = mapped_column(String(16))
    lookup_key: Mapped[str] = mapped_column(String(64))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Which process wrote it: that process already applied the change to its own index.
    origin: Mapped[str | None] = mapped_column(String(48))


class ExpertRecommendationRow(Base):
    """Staff mark an outstanding practitioner for a year (第八条第一项：优先推荐入医保专家库)."""

    __tablename__ = "expert_recommendations"
    __table_args__ = (UniqueConstraint("subject_type", "lookup_key", "year", name="uq_expert_recommendations"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    subject_type: Mapped[str] = mapped_column(String(16))
    lookup_key: Mapped[str] = mapped_column(String(64), index=True)
    year: Mapped[int] = mapped_column(Integer)
    region: Mapped[str] = mapped_column(String(6))
    reason: Mapped[str] = mapped_column(Text)
    marked_by: Mapped[str] = mapped_column(String(64))
    marked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Withdrawn by staff: kept with its withdrawal, and no longer an incentive (status index skips it).
    withdrawn_on: Mapped[date | None] = mapped_column(Date)
    withdrawn_by: Mapped[str | None] = mapped_column(String(64))
    withdrawal_reason: Mapped[str | None] = mapped_column(Text)


class ApiClientRow(Base):
    __tablename__ = "api_clients"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    region: Mapped[str | None] = mapped_column(String(6))
    subject_type: Mapped[str | None] = mapped_column(String(16))
    subject_lookup_key: Mapped[str | None] = mapped_column(String(64))
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
    # Signing needs the secret itself (a shared key, not a password), so it is sealed, not hashed:
    # AES-GCM with the identity numbers' key ring, "webhook-secret:<id>" as associated data (pii.py).
    secret_sealed: Mapped[str] = mapped_column(Text)
    # The key of the events' subject_key pseudonyms (domain/webhooks.py), sealed likewise
    # ("webhook-pseudonym:<id>"); it never leaves the service.
    pseudonym_key_sealed: Mapped[str] = mapped_column(String(128))
    events: Mapped[str] = mapped_column(Text)  # JSON array of event types
    # JSON {"regions": [...], "subject_types": [...]?} (domain/webhooks.Scope); NULL only for a webhook
    # registered before scopes existed, which migration 0008 deactivated.
    scope: Mapped[str | None] = mapped_column(Text)
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
    lookup_key: Mapped[str] = mapped_column(String(64), index=True)
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
    lookup_key: Mapped[str] = mapped_column(String(64), index=True)
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
    state: Mapped[str] = mapped_column(String(16))  # "open" | "decided" | "closed" (its measure was revoked)
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
    lookup_key: Mapped[str] = mapped_column(String(64), index=True)
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
    state: Mapped[str] = mapped_column(String(16))  # "open" | "approved" | "rejected" | "closed"
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
    lookup_key: Mapped[str] = mapped_column(String(64))
    event: Mapped[str] = mapped_column(String(32))
    ref: Mapped[str] = mapped_column(String(32), default="")  # the notice/objection/repair it concerns
    on: Mapped[date] = mapped_column(Date)
    detail: Mapped[str] = mapped_column(Text, default="")
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AuditEventRow(Base):
    """The hash-chained audit trail (services/audit.py): `payload` is the canonical JSON that is hashed;
    the other columns mirror it for queries."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_subject", "lookup_key", "subject_type", "day"),
                      Index("ix_audit_events_region_day", "region", "day"))

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                     autoincrement=False)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    day: Mapped[date] = mapped_column(Date)  # Asia/Shanghai
    action: Mapped[str] = mapped_column(String(48))
    entity: Mapped[str] = mapped_column(String(24))
    entity_id: Mapped[str] = mapped_column(String(64))
    subject_type: Mapped[str | None] = mapped_column(String(16))
    lookup_key: Mapped[str | None] = mapped_column(String(64))
    region: Mapped[str | None] = mapped_column(String(6))
    actor: Mapped[str] = mapped_column(String(128))
    payload: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    # "<key id>:" + hex HMAC-SHA256 over seq and hash, under a key the database does not hold
    # (adapters/audit_keys.py); NULL never verifies.
    mac: Mapped[str | None] = mapped_column(String(80))


# -- the web doors (credit_service/web/) ----------------------------------------------------------------

class StaffUserRow(Base):
    """A console account: local (Argon2id password, optional TOTP) or made at first single sign-on."""

    __tablename__ = "staff_users"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))  # "staff" | "admin"
    region: Mapped[str | None] = mapped_column(String(6))
    password_hash: Mapped[str | None] = mapped_column(String(255))  # None: single sign-on only
    # Sealed with the identity-number encryption keys (adapters/pii.py), never stored readable.
    totp_sealed: Mapped[str | None] = mapped_column(String(255))
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)  # a code is accepted once
    sso_subject: Mapped[str | None] = mapped_column(String(255), unique=True)  # "issuer sub"
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class LoginFailureRow(Base):
    """Failed console sign-ins, per attempted user name (as a hash: people type passwords there too)."""

    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_name_at", "username_hash", "at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    username_hash: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class WebSessionRow(Base):
    """A browser session of the console or the self-service pages; the cookie holds a random id, the
    table its SHA-256. Deleting the row ends the session at once (logout, `users disable`)."""

    __tablename__ = "web_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    door: Mapped[str] = mapped_column(String(8))  # "console" | "me"
    user_id: Mapped[str | None] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"), index=True)
    subject_type: Mapped[str | None] = mapped_column(String(16))
    lookup_key: Mapped[str | None] = mapped_column(String(64))  # the person's lookup key, never the number
    data: Mapped[str] = mapped_column(Text, default="{}")  # JSON: CSRF token, sign-in state, display name
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    signed_in_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class DocumentCounterRow(Base):
    """The last document number given, per region, kind and year: numbers are allocated in the
    transaction that issues the document (row locked), so a rolled-back issue leaves no gap."""

    __tablename__ = "document_counters"

    region: Mapped[str] = mapped_column(String(6), primary_key=True)
    kind: Mapped[str] = mapped_column(String(24), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_number: Mapped[int] = mapped_column(Integer)


class EvidenceFileRow(Base):
    """证明材料: a file brought with an objection or a repair application, kept in the database (in the
    filing's transaction, backed up with it), with the SHA-256 of its content. The subject and region
    are the case file's: who may download it is decided like who may read the case (services/access.py)."""

    __tablename__ = "evidence_files"
    __table_args__ = (Index("ix_evidence_files_case", "case_kind", "case_id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    case_kind: Mapped[str] = mapped_column(String(16))  # "objection" | "repair"
    case_id: Mapped[str] = mapped_column(String(32))
    measure_id: Mapped[str] = mapped_column(ForeignKey("measures.id"))
    subject_type: Mapped[str] = mapped_column(String(16))
    lookup_key: Mapped[str] = mapped_column(String(64), index=True)
    region: Mapped[str] = mapped_column(String(6))
    filename: Mapped[str] = mapped_column(String(160))
    content_type: Mapped[str] = mapped_column(String(32))  # from the content, never from the sender
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class IssuedDocumentRow(Base):
    """A letter as issued: its number and the content it was printed with (printed again unchanged)."""

    __tablename__ = "issued_documents"
    __table_args__ = (UniqueConstraint("kind", "entity_id", name="uq_issued_documents_entity"),
                      UniqueConstraint("region", "kind", "year", "seq", name="uq_issued_documents_seq"))

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(24))  # "credit_result_notice" | "objection_decision" | "repair_reply"
    entity_id: Mapped[str] = mapped_column(String(32))  # the measure, objection or repair it answers
    region: Mapped[str] = mapped_column(String(6))
    year: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    number: Mapped[str] = mapped_column(String(64), unique=True)
    content: Mapped[str] = mapped_column(Text)  # JSON of the document model
    issued_by: Mapped[str] = mapped_column(String(128))
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class MonthlyReportRow(Base):
    """A month's statistics report (月度统计报表) as frozen on the 1st: the exact bytes handed out in each
    format, never changed again; corrections after freezing appear as adjustments in the next month."""

    __tablename__ = "monthly_reports"
    __table_args__ = (UniqueConstraint("region", "month", name="uq_monthly_reports"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    region: Mapped[str] = mapped_column(String(6))  # a pooling region, or "all" (the province)
    month: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    frozen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    body_json: Mapped[bytes] = mapped_column(LargeBinary)
    body_csv: Mapped[bytes] = mapped_column(LargeBinary)
    body_xlsx: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))  # of body_json


class KeyCheckRow(Base):
    """A check value of each configured key (adapters/key_check.py), by kind: every process compares its
    keys with these before it starts, so that nodes with different keys cannot silently disagree."""

    __tablename__ = "key_checks"

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)  # pii_hmac | pii_encryption | audit_mac
    checks: Mapped[str] = mapped_column(Text)  # JSON {key id: check value}
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
