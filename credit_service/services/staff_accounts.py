"""Console accounts: Argon2id passwords, an optional TOTP second factor, lock-out after failed sign-ins.

A sign-in attempt never tells an attacker whether the user exists: an unknown name, a wrong password,
a disabled account and a missing password (single sign-on accounts) all take the same time (one
Argon2 verification) and give the same answer, and the lock-out counts failures per attempted name
whether or not such a user exists.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from ..adapters.orm import StaffUserRow
from ..adapters.pii import KeyRing
from ..clock import Clock
from ..domain.identity import region_problem
from . import access
from .audit import SYSTEM, Actor, Change
from .errors import Conflict, Invalid, NotFound
from .unit_of_work import UnitOfWork

STAFF_ROLES = access.CONSOLE_ROLES
LOCKOUT_FAILURES = 5
LOCKOUT_WINDOW = timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 12
TOTP_ISSUER = "医保信用经办工作台"
_USERNAME = re.compile(r"[A-Za-z0-9._@-]{1,64}")

_hasher = PasswordHasher()  # Argon2id, RFC 9106 low-memory parameters
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))  # verified against when there is no user: same time


@dataclass(frozen=True)
class StaffUser:
    id: str
    username: str
    display_name: str
    role: str
    region: str | None
    has_password: bool
    has_totp: bool
    sso: bool
    disabled: bool

    @classmethod
    def of(cls, row: StaffUserRow) -> "StaffUser":
        return cls(row.id, row.username, row.display_name, row.role, row.region, row.password_hash is not None,
                   row.totp_sealed is not None, row.sso_subject is not None, row.disabled_at is not None)


@dataclass(frozen=True)
class SignIn:
    """outcome: "ok" | "refused" (name, password or code wrong: one answer for all) | "locked" |
    "otp_required" (the password was right; ask for the code)."""

    outcome: str
    user: StaffUser | None = None


def _check_role_region(role: str, region: str | None) -> None:
    if role not in STAFF_ROLES:
        raise Invalid(f"角色须为{'/'.join(STAFF_ROLES)}之一。", errors={"role": ["unknown role"]})
    if access.bound_to_region(role) and not region:
        raise Invalid(f"{role} 角色须指定统筹区（--region），其工作限于该统筹区。", errors={"region": ["required"]})
    if region and (problem := region_problem(region)):
        raise Invalid(problem, errors={"region": [problem]})


def create_user(uow: UnitOfWork, clock: Clock, username: str, role: str, region: str | None = None,
                password: str | None = None, display_name: str | None = None, *, actor: Actor = SYSTEM) -> tuple[StaffUser, str | None]:
    """Returns the user and the generated password (None when one was given)."""
    if not _USERNAME.fullmatch(username or ""):
        raise Invalid("用户名须为1至64个字母、数字或 . _ @ - 字符。", errors={"username": ["invalid"]})
    _check_role_region(role, region)
    generated = None
    if password is None:
        password = generated = secrets.token_urlsafe(15)
    elif len(password) < MIN_PASSWORD_LENGTH:
        raise Invalid(f"密码至少{MIN_PASSWORD_LENGTH}个字符。", errors={"password": ["too short"]})
    row = StaffUserRow(id=uuid.uuid4().hex, username=username, display_name=display_name or username, role=role,
                       region=region, password_hash=_hasher.hash(password), created_at=clock.now())
    with uow:
        if uow.staff.named(username) is not None:
            raise Conflict(f"用户名{username}已存在。", code="duplicate_username")
        uow.staff.add(row)
        uow.audit.stage([Change(
            action="staff_user_created", entity="staff_user", entity_id=row.id, region=region,
            after={"username": username, "role": role, "region": region})], clock.now(), actor)
        uow.commit()
        return StaffUser.of(row), generated


def list_users(uow: UnitOfWork) -> list[StaffUser]:
    with uow:
        return [StaffUser.of(r) for r in uow.staff.all()]


def disable_user(uow: UnitOfWork, clock: Clock, username: str, *, actor: Actor = SYSTEM) -> int:
    """Disable the account and end its open sessions in the same transaction; returns how many ended."""
    with uow:
        row = uow.staff.named(username)
        if row is None:
            raise NotFound(f"用户{username}不存在。", code="user_not_found")
        row.disabled_at = row.disabled_at or clock.now()
        ended = uow.staff.end_sessions(row.id)
        uow.audit.stage([Change(action="staff_user_disabled", entity="staff_user", entity_id=row.id,
                                region=row.region, after={"username": username, "sessions_ended": ended})],
                        clock.now(), actor)
        uow.commit()
        return ended


def enrol_totp(uow: UnitOfWork, clock: Clock, keys: KeyRing, username: str, *, actor: Actor = SYSTEM) -> str:
    """A new TOTP secret for the user (replacing any earlier one); returns the otpauth:// URI to show once."""
    secret = pyotp.random_base32()
    with uow:
        row = uow.staff.named(username)
        if row is None:
            raise NotFound(f"用户{username}不存在。", code="user_not_found")
        row.totp_sealed = keys.seal(_totp_context(row.id), secret)
        row.totp_last_step = None
        uow.audit.stage([Change(action="staff_totp_enrolled", entity="staff_user", entity_id=row.id,
                                region=row.region, after={"username": username})], clock.now(), actor)
        uow.commit()
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=TOTP_ISSUER)


def _totp_context(user_id: str) -> str:
    return f"totp:{user_id}"  # associated data: a sealed secret moved to another user does not open


def username_hash(username: str) -> str:
    return hashlib.sha256(username.strip().lower().encode()).hexdigest()


def sign_in(uow: UnitOfWork, clock: Clock, keys: KeyRing, username: str, password: str,
            otp: str | None = None, *, actor: Actor = SYSTEM) -> SignIn:
    now = clock.now()
    name_key = username_hash(username or "")
    with uow:
        failures = uow.staff.failures_since(name_key, now - LOCKOUT_WINDOW)
        row = uow.staff.named(username)
        usable = row is not None and row.disabled_at is None and row.password_hash is not None
        password_ok = _verify(row.password_hash if usable else _DUMMY_HASH, password or "") and usable
        if failures >= LOCKOUT_FAILURES:
            outcome = "locked"
        elif not password_ok:
            outcome = "refused"
        elif row.totp_sealed is None:
            outcome = "ok"
        elif not otp:
            return SignIn("otp_required", StaffUser.of(row))  # not a failure: the code is asked for next
        else:
            outcome = "ok" if _accept_otp(row, keys, otp, now) else "refused"
        if outcome == "ok":
            uow.staff.forget_failures(name_key)
            if _hasher.check_needs_rehash(row.password_hash):
                row.password_hash = _hasher.hash(password)
            _audit_sign_in(uow, row, now, "password+totp" if row.totp_sealed else "password", actor)
        else:
            uow.staff.add_failure(name_key, now)
        uow.commit()
        return SignIn(outcome, StaffUser.of(row) if outcome == "ok" else None)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _accept_otp(row: StaffUserRow, keys: KeyRing, otp: str, now: datetime) -> bool:
    """The code of the current 30-second step or the one either side; each step is accepted once."""
    code = re.sub(r"\s", "", otp)
    try:
        totp = pyotp.TOTP(keys.open(_totp_context(row.id), row.totp_sealed))
    except Exception:  # the sealing key is no longer configured: fail closed, re-enrol with `users totp`
        return False
    current = totp.timecode(now)
    for step in (current - 1, current, current + 1):
        if hmac.compare_digest(totp.generate_otp(step), code) and step > (row.totp_last_step or -1):
            row.totp_last_step = step
            return True
    return False


def sso_user(uow: UnitOfWork, clock: Clock, subject: str, username: str, display_name: str, role: str,
             region: str | None, *, actor: Actor = SYSTEM) -> StaffUser | None:
    """The account of a single sign-on identity, made at its first sign-in and kept in step with the
    identity provider's role and region; None if it was disabled or its user name belongs to a local account."""
    _check_role_region(role, region)
    with uow:
        row = uow.staff.of_sso_subject(subject)
        if row is None:
            if uow.staff.named(username) is not None:
                return None
            row = StaffUserRow(id=uuid.uuid4().hex, username=username, display_name=display_name, role=role,
                               region=region, sso_subject=subject, created_at=clock.now())
            uow.staff.add(row)
            uow.audit.stage([Change(
                action="staff_user_created", entity="staff_user", entity_id=row.id, region=region,
                after={"username": username, "role": role, "region": region, "sso": True})], clock.now(), actor)
        elif row.disabled_at is not None:
            return None
        elif (row.role, row.region, row.display_name) != (role, region, display_name):
            uow.audit.stage([Change(
                action="staff_user_changed", entity="staff_user", entity_id=row.id, region=region,
                before={"role": row.role, "region": row.region}, after={"role": role, "region": region})],
                clock.now(), actor)
            row.role, row.region, row.display_name = role, region, display_name
        _audit_sign_in(uow, row, clock.now(), "sso", actor)
        uow.commit()
        return StaffUser.of(row)


def second_factor(uow: UnitOfWork, clock: Clock, keys: KeyRing, username: str, otp: str, *,
                  actor: Actor = SYSTEM) -> SignIn:
    """The code asked for after a right password (the page keeps only the user name, never the password)."""
    now = clock.now()
    name_key = username_hash(username)
    with uow:
        failures = uow.staff.failures_since(name_key, now - LOCKOUT_WINDOW)
        row = uow.staff.named(username)
        usable = row is not None and row.disabled_at is None and row.totp_sealed is not None
        if failures >= LOCKOUT_FAILURES:
            outcome = "locked"
        else:
            outcome = "ok" if usable and _accept_otp(row, keys, otp or "", now) else "refused"
        if outcome == "ok":
            uow.staff.forget_failures(name_key)
            _audit_sign_in(uow, row, now, "password+totp", actor)
        else:
            uow.staff.add_failure(name_key, now)
        uow.commit()
        return SignIn(outcome, StaffUser.of(row) if outcome == "ok" else None)


def _audit_sign_in(uow: UnitOfWork, row: StaffUserRow, now: datetime, how: str, actor: Actor) -> None:
    uow.audit.stage([Change(action="staff_signed_in", entity="staff_user", entity_id=row.id,
                            region=row.region, after={"username": row.username, "how": how})], now, actor)


def load_user(uow: UnitOfWork, user_id: str) -> StaffUser | None:
    with uow:
        row = uow.staff.get(user_id)
        return StaffUser.of(row) if row is not None else None
