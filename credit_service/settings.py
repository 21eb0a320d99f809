"""12-factor settings: CREDIT_SERVICE_* environment variables over embedded defaults."""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
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
    # Callers without a token this process knows (no token, a made-up or revoked one), per address and
    # worker, before any token look-up: the stricter of this and rate_limit ("off": rate_limit alone).
    rate_limit_anonymous: str = "20/40"
    # A request running longer than this ends its worker process, which the server replaces (0: never).
    request_timeout_seconds: float = 30.0
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
                              ("rate_limit_anonymous", str), ("request_timeout_seconds", float),
                              ("webhook_interval_seconds", float), ("webhook_max_attempts", int),
                              ("webhook_backoff_seconds", float), ("webhook_timeout_seconds", float)):
            key = f"CREDIT_SERVICE_{name.upper()}"
            if key in env:
                values[name] = convert(env[key])
        values.update(overrides)
        settings = cls(**values)
        from .rate_limit import Limit, parse_overrides
        Limit.parse(settings.rate_limit), parse_overrides(settings.rate_limit_overrides)  # fail at start-up
        Limit.parse(settings.rate_limit_anonymous)
        if settings.scheduler not in ("embedded", "off"):
            raise ValueError("CREDIT_SERVICE_SCHEDULER must be 'embedded' or 'off'")
        return settings

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def _flag(text: str) -> bool:
    return text.strip().lower() not in ("0", "false", "no", "off", "")
