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


def _audit_mac_keys() -> str:
    """CREDIT_SERVICE_AUDIT_MAC_KEYS, else a key generated once into the data directory (adapters/audit_keys.py)."""
    env = os.environ.get("CREDIT_SERVICE_AUDIT_MAC_KEYS")
    if env:
        return env
    from .adapters.audit_keys import load_or_create_default_key
    return load_or_create_default_key(_data_dir())


def _audit_anchor_file() -> Path:
    return Path(os.environ.get("CREDIT_SERVICE_AUDIT_ANCHOR_FILE") or _data_dir() / "audit-anchors.jsonl")


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
    # "memory": each process holds its own index; "shared": the workers of a node map one snapshot file
    # in the data directory (credit_service/adapters/node_index.py).
    index_store: str = "memory"
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
    # Webhook targets that are not public addresses but allowed anyway: host names, addresses, CIDRs
    # (adapters/egress.py). Empty: public addresses only.
    webhook_allowed_hosts: str = ""
    # Identity numbers at rest (adapters/pii.py): "id:base64,…", the current key first.
    pii_hmac_keys: str = field(default_factory=lambda: _pii_keys("hmac_keys"), repr=False)
    pii_encryption_keys: str = field(default_factory=lambda: _pii_keys("encryption_keys"), repr=False)
    # The audit trail's MAC keys (adapters/audit_keys.py): "id:base64,…", the signing key first.
    audit_mac_keys: str = field(default_factory=_audit_mac_keys, repr=False)
    # Where `audit anchor` appends the signed head of the chain, and how often the job does it.
    audit_anchor_file: Path = field(default_factory=_audit_anchor_file)
    audit_anchor_interval_seconds: float = 300.0
    # The web doors (credit_service/web/, docs/console.md): server-side sessions end after this many
    # minutes without a request, and this many hours after sign-in whatever happens.
    web_idle_minutes: float = 30.0
    web_absolute_hours: float = 8.0
    # Session cookies: "auto" marks them Secure unless the page was asked for over plain HTTP on a
    # loopback address (`./dev serve` on 127.0.0.1); "true" always; "false" never (plain HTTP on an intranet).
    web_cookie_secure: str = "auto"
    # Self-service real-name login (docs/selfservice-oidc.md); unset issuer: self-service is off.
    oidc_issuer: str = ""
    oidc_client_id: str = ""
    oidc_client_secret: str = field(default="", repr=False)
    oidc_subject_claim: str = "id_number"
    oidc_subject_type_claim: str = ""  # empty: every person is an insured person (参保人)
    oidc_name_claim: str = "name"
    oidc_scope: str = "openid profile"
    # Staff single sign-on (docs/console.md); unset issuer: local accounts only.
    staff_oidc_issuer: str = ""
    staff_oidc_client_id: str = ""
    staff_oidc_client_secret: str = field(default="", repr=False)
    staff_oidc_scope: str = "openid profile"
    staff_oidc_username_claim: str = "preferred_username"
    staff_oidc_name_claim: str = "name"
    staff_oidc_role_claim: str = "credit_service_role"
    # claim value=role, comma-separated; the claim may hold one value or a list (groups)
    staff_oidc_role_map: str = "staff=staff,admin=admin"
    staff_oidc_region_claim: str = "region"
    # Change feed and webhook delivery rows older than this many days are pruned once every active
    # receiver has them (jobs: retention; docs/operations.md).
    change_retention_days: float = 30.0
    # A PostgreSQL streaming replica for the status index's full load (adapters/read_replica.py), used
    # while its replication lag is within read_max_lag_seconds; empty: the primary only.
    read_database_url: str = ""
    read_max_lag_seconds: float = 10.0

    @classmethod
    def from_env(cls, validate: bool = True, **overrides) -> "Settings":
        env = os.environ
        values: dict = {}
        _read_secret_files(env)
        _require_configured_keys(env, overrides)
        if "CREDIT_SERVICE_DATABASE_URL" in env:
            values["database_url"] = env["CREDIT_SERVICE_DATABASE_URL"]
        if "CREDIT_SERVICE_SECRET_KEY" in env:
            values["secret_key"] = env["CREDIT_SERVICE_SECRET_KEY"]
        elif "secret_key" not in overrides:
            # Every worker process must sign the web forms' CSRF tokens with the same key.
            values["secret_key"] = _default_secret_key()
        if "CREDIT_SERVICE_SCHEDULER" in env:
            values["scheduler"] = env["CREDIT_SERVICE_SCHEDULER"]
        for name, convert in _conversions():
            key = f"CREDIT_SERVICE_{name.upper()}"
            if key in env and name not in overrides:
                try:
                    values[name] = convert(env[key])
                except ValueError as exc:  # fail at start-up, naming the variable
                    raise ValueError(f"{key}={env[key]!r}: {exc}") from None
        values.update(overrides)
        settings = cls(**values)
        problems = settings_problems(settings) if validate else []
        if problems:
            raise ValueError(problems[0])
        return settings

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


LOG_FORMATS = ("json", "text")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def settings_problems(settings: "Settings") -> list[str]:
    """What is wrong with settings whose variables parsed: one line each, naming the variable."""
    from .adapters.egress import AllowList
    from .rate_limit import Limit, parse_overrides
    problems = []
    for name, parse in (("rate_limit", Limit.parse), ("rate_limit_anonymous", Limit.parse),
                        ("rate_limit_overrides", parse_overrides), ("webhook_allowed_hosts", AllowList.parse)):
        try:
            parse(getattr(settings, name))
        except ValueError as exc:
            problems.append(f"CREDIT_SERVICE_{name.upper()}={getattr(settings, name)!r}: {exc}")
    for ok, message in (
            (settings.audit_anchor_interval_seconds > 0, "CREDIT_SERVICE_AUDIT_ANCHOR_INTERVAL_SECONDS must be positive"),
            (settings.scheduler in ("embedded", "off"), "CREDIT_SERVICE_SCHEDULER must be 'embedded' or 'off'"),
            (settings.web_cookie_secure in ("auto", "true", "false"),
             "CREDIT_SERVICE_WEB_COOKIE_SECURE must be 'auto', 'true' or 'false'"),
            (settings.query_days_ahead >= 0, "CREDIT_SERVICE_QUERY_DAYS_AHEAD must be ≥ 0"),
            (settings.index_max_age_seconds > 0, "CREDIT_SERVICE_INDEX_MAX_AGE_SECONDS must be > 0"),
            (settings.index_poll_seconds >= 0, "CREDIT_SERVICE_INDEX_POLL_SECONDS must be ≥ 0"),
            (settings.index_store in ("memory", "shared"), "CREDIT_SERVICE_INDEX_STORE must be 'memory' or 'shared'"),
            (settings.change_retention_days > 0, "CREDIT_SERVICE_CHANGE_RETENTION_DAYS must be > 0"),
            (not settings.read_database_url or (settings.read_database_url.startswith("postgresql")
                                                and not settings.is_sqlite),
             "CREDIT_SERVICE_READ_DATABASE_URL: a PostgreSQL streaming replica of a PostgreSQL primary")):
        if not ok:
            problems.append(message)
    fmt = os.environ.get("CREDIT_SERVICE_LOG_FORMAT", "json")
    if fmt not in LOG_FORMATS:
        problems.append(f"CREDIT_SERVICE_LOG_FORMAT={fmt!r}: must be one of {', '.join(LOG_FORMATS)}")
    level = os.environ.get("CREDIT_SERVICE_LOG_LEVEL", "INFO")
    if level.upper() not in LOG_LEVELS:
        problems.append(f"CREDIT_SERVICE_LOG_LEVEL={level!r}: must be one of {', '.join(LOG_LEVELS)}")
    return problems


_OIDC_SETTINGS = ("oidc_issuer", "oidc_client_id", "oidc_client_secret", "oidc_subject_claim",
                  "oidc_subject_type_claim", "oidc_name_claim", "oidc_scope",
                  "staff_oidc_issuer", "staff_oidc_client_id", "staff_oidc_client_secret", "staff_oidc_scope",
                  "staff_oidc_username_claim", "staff_oidc_name_claim", "staff_oidc_role_claim",
                  "staff_oidc_role_map", "staff_oidc_region_claim")


# Generated keys are for the embedded SQLite default only: on a shared database every node must have
# the same keys, so they come from the deployment's secret store, never from a node's data directory.
_CONFIGURED_ON_SERVER_DATABASES = {"pii_hmac_keys": "CREDIT_SERVICE_PII_HMAC_KEYS",
                                   "pii_encryption_keys": "CREDIT_SERVICE_PII_ENCRYPTION_KEYS",
                                   "audit_mac_keys": "CREDIT_SERVICE_AUDIT_MAC_KEYS",
                                   "secret_key": "CREDIT_SERVICE_SECRET_KEY"}


class KeysNotConfigured(ValueError):
    pass


# Secrets may come as files (Docker and Kubernetes secrets): CREDIT_SERVICE_X_FILE=/run/secrets/x stands
# for CREDIT_SERVICE_X holding the file's content (trailing newline dropped).
SECRET_FILE_VARIABLES = (*_CONFIGURED_ON_SERVER_DATABASES.values(), "CREDIT_SERVICE_DATABASE_URL",
                         "CREDIT_SERVICE_READ_DATABASE_URL",
                         "CREDIT_SERVICE_OIDC_CLIENT_SECRET", "CREDIT_SERVICE_STAFF_OIDC_CLIENT_SECRET")


def _read_secret_files(env) -> None:
    for variable in SECRET_FILE_VARIABLES:
        path = env.get(f"{variable}_FILE")
        if path and not env.get(variable):
            try:
                env[variable] = Path(path).read_text(encoding="utf-8").rstrip("\r\n")
            except OSError as exc:
                raise ValueError(f"{variable}_FILE={path!r}: cannot be read ({exc.strerror})") from None


def _require_configured_keys(env, overrides: dict) -> None:
    url = overrides.get("database_url") or env.get("CREDIT_SERVICE_DATABASE_URL") or "sqlite"
    if url.startswith("sqlite"):
        return
    missing = [variable for name, variable in _CONFIGURED_ON_SERVER_DATABASES.items()
               if not env.get(variable) and not overrides.get(name)]
    if missing:
        raise KeysNotConfigured(
            f"{', '.join(missing)} not set: with PostgreSQL every key must be configured, the same on every "
            f"node (keys are generated only for the embedded SQLite default); make them with "
            f"`credit-service keys generate --id k1` (docs/deployment.md)")


def _conversions():
    return (("index_poll_seconds", float), ("rate_limit", str), ("rate_limit_overrides", str),
            ("access_log", _flag), ("rate_limit_anonymous", str), ("request_timeout_seconds", float),
            ("webhook_interval_seconds", float), ("webhook_max_attempts", int),
            ("webhook_backoff_seconds", float), ("webhook_timeout_seconds", float),
            ("webhook_allowed_hosts", str), ("audit_anchor_interval_seconds", float),
            ("web_idle_minutes", float), ("web_absolute_hours", float), ("web_cookie_secure", str),
            ("index_max_age_seconds", float), ("index_store", str), ("earliest_date", date.fromisoformat),
            ("query_days_ahead", int), ("db_connect_timeout_seconds", float),
            ("db_statement_timeout_seconds", float), ("db_pool_timeout_seconds", float),
            ("change_retention_days", float), ("read_database_url", str), ("read_max_lag_seconds", float),
            *((name, str) for name in _OIDC_SETTINGS))


def _default_secret_key() -> str:
    """For `./dev serve` only: made once into the data directory (mode 0600), like the identity-number
    keys. A deployment sets CREDIT_SERVICE_SECRET_KEY, the same on every replica."""
    path = _data_dir() / "secret-key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
        try:
            os.link(temporary, path)  # atomic: a second worker starting at once keeps the first one's key
        except FileExistsError:
            pass
        finally:
            os.unlink(temporary)
    return path.read_text().strip()


def _flag(text: str) -> bool:
    return text.strip().lower() not in ("0", "false", "no", "off", "")
