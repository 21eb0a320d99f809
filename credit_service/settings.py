"""12-factor settings: CREDIT_SERVICE_* environment variables over embedded defaults."""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _default_config_dir() -> Path:
    return Path(os.environ.get("CREDIT_SERVICE_CONFIG_DIR", PROJECT_ROOT / "config"))


def _data_dir() -> Path:
    return Path(os.environ.get("CREDIT_SERVICE_DATA_DIR", PROJECT_ROOT / "var"))


def _default_database_url() -> str:
    return f"sqlite:///{_data_dir() / 'credit-service.sqlite3'}"


def _pii_keys(name: str) -> str:
    """CREDIT_SERVICE_PII_<NAME>, else keys generated once into the data directory (adapters/pii.py)."""
    env = os.environ.get(f"CREDIT_SERVICE_PII_{name.upper()}")
    if env:
        return env
    from .adapters.pii import load_or_create_default_keys
    return load_or_create_default_keys(_data_dir())[name]


@dataclass
class Settings:
    database_url: str = field(default_factory=_default_database_url)
    secret_key: str = field(default_factory=lambda: secrets.token_hex(32))
    config_dir: Path = field(default_factory=_default_config_dir)
    # "embedded": each app process runs the scheduler (one acts at a time, by lock);
    # "off": run `credit-service jobs run` as its own process instead.
    scheduler: str = "embedded"
    # How often each process looks for changes other processes made (the status index bound).
    index_poll_seconds: float = 0.5
    # A process answers status checks from its index only while the index's last successful refresh
    # (poll or rebuild) is younger than this; older → 503 status_index_stale (docs/operations.md).
    index_max_age_seconds: float = 300.0
    # The lawful range of the dates callers give (docs/operations.md): facts lie between the earliest
    # date and today; a day asked about may lie up to query_days_ahead days after today.
    earliest_date: date = date(1990, 1, 1)
    query_days_ahead: int = 3653  # ten years
    # PostgreSQL (docs/operations.md): a database that hangs must not hang the workers. 0 turns one off.
    db_connect_timeout_seconds: float = 5.0
    db_statement_timeout_seconds: float = 15.0
    db_pool_timeout_seconds: float = 5.0
    # Answer well-formed status and batch requests in front of Flask (credit_service/api/fast_status.py).
    fast_status: bool = True
    # Load the status index in the background as each process starts (tests turn this off).
    warm_index: bool = True
    import_max_rows: int = 10_000
    batch_max_subjects: int = 1_000
    # Per-client rate limit, per worker process: "RATE/BURST" requests, or "off" (credit_service/rate_limit.py).
    rate_limit: str = "500/1000"
    # Per client name: "name=RATE/BURST,other=off".
    rate_limit_overrides: str = ""
    # One JSON log line per request (route template, status, duration, request id; never the raw path).
    access_log: bool = True
    # Webhook delivery (jobs/webhooks.py): how often the outbox is swept, attempts before dead-letter,
    # first retry delay (doubling each attempt, capped at an hour), and the receiver's time to answer.
    webhook_interval_seconds: float = 5.0
    webhook_max_attempts: int = 8
    webhook_backoff_seconds: float = 10.0
    webhook_timeout_seconds: float = 5.0
    # Identity numbers at rest (adapters/pii.py): "id:base64,…", the current key first.
    pii_hmac_keys: str = field(default_factory=lambda: _pii_keys("hmac_keys"), repr=False)
    pii_encryption_keys: str = field(default_factory=lambda: _pii_keys("encryption_keys"), repr=False)

    @classmethod
    def from_env(cls, **overrides) -> "Settings":
        env = os.environ
        values: dict = {}
        if "CREDIT_SERVICE_DATABASE_URL" in env:
            values["database_url"] = env["CREDIT_SERVICE_DATABASE_URL"]
        if "CREDIT_SERVICE_SECRET_KEY" in env:
            values["secret_key"] = env["CREDIT_SERVICE_SECRET_KEY"]
        if "CREDIT_SERVICE_SCHEDULER" in env:
            values["scheduler"] = env["CREDIT_SERVICE_SCHEDULER"]
        if "CREDIT_SERVICE_INDEX_POLL_SECONDS" in env:
            values["index_poll_seconds"] = float(env["CREDIT_SERVICE_INDEX_POLL_SECONDS"])
        for name, convert in (("rate_limit", str), ("rate_limit_overrides", str), ("access_log", _flag),
                              ("webhook_interval_seconds", float), ("webhook_max_attempts", int),
                              ("webhook_backoff_seconds", float), ("webhook_timeout_seconds", float),
                              ("index_max_age_seconds", float), ("earliest_date", date.fromisoformat),
                              ("query_days_ahead", int), ("db_connect_timeout_seconds", float),
                              ("db_statement_timeout_seconds", float), ("db_pool_timeout_seconds", float)):
            key = f"CREDIT_SERVICE_{name.upper()}"
            if key in env:
                try:
                    values[name] = convert(env[key])
                except ValueError as exc:  # fail at start-up, naming the variable
                    raise ValueError(f"{key}={env[key]!r}: {exc}") from None
        values.update(overrides)
        settings = cls(**values)
        from .rate_limit import Limit, parse_overrides
        Limit.parse(settings.rate_limit), parse_overrides(settings.rate_limit_overrides)  # fail at start-up
        if settings.scheduler not in ("embedded", "off"):
            raise ValueError("CREDIT_SERVICE_SCHEDULER must be 'embedded' or 'off'")
        if settings.query_days_ahead < 0:
            raise ValueError("CREDIT_SERVICE_QUERY_DAYS_AHEAD must be ≥ 0")
        if settings.index_max_age_seconds <= 0:
            raise ValueError("CREDIT_SERVICE_INDEX_MAX_AGE_SECONDS must be > 0")
        return settings

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def _flag(text: str) -> bool:
    return text.strip().lower() not in ("0", "false", "no", "off", "")
