"""User accounts: the first administrator, sign-in, and the administrator's account work.

Passwords are kept only as argon2id hashes (argon2-cffi). A hash made with weaker
parameters than the current ones is replaced on the next successful sign-in, so raising
`HASH_PARAMETERS` upgrades every account without anyone noticing. Every sign-in (good or
bad) and every change to an account is written to the audit log; passwords never are.
"""

from __future__ import annotations

import datetime as dt
import getpass
import logging
import unicodedata
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from mbfcare.domain.actors import ROLES, Actor
from mbfcare.errors import ConflictError, NotFoundError, RuleError, ValidationError
from mbfcare.models import AuditEntry
from mbfcare.models.accounts import UserAccount
from mbfcare.models.base import utcnow
from mbfcare.models.care import CareCase
from mbfcare.models.subscriber import Subscriber
from mbfcare.services import audit
from mbfcare.uow import UnitOfWork

logger = logging.getLogger(__name__)

# OWASP Password Storage Cheat Sheet, argon2id minimum: 19 MiB of memory, 2 passes, 1 lane.
OWASP_MINIMUM = {"memory_cost": 19 * 1024, "time_cost": 2, "parallelism": 1}
# What new hashes use: argon2-cffi's RFC 9106 "low memory" profile (64 MiB, 3 passes,
# 4 lanes), well above the minimum and about 50-100 ms on an office PC.
HASH_PARAMETERS = {"memory_cost": 64 * 1024, "time_cost": 3, "parallelism": 4}

MIN_PASSWORD_LENGTH = 10
MAX_FAILED_SIGN_INS = 5
LOCK_MINUTES = 5

WRONG_SIGN_IN = "Tên đăng nhập hoặc mật khẩu không đúng."


def hasher() -> PasswordHasher:
    """The argon2id hasher with the current parameters (read per call: tests raise them)."""
    return PasswordHasher(memory_cost=HASH_PARAMETERS["memory_cost"],
                          time_cost=HASH_PARAMETERS["time_cost"],
                          parallelism=HASH_PARAMETERS["parallelism"])


class SignInError(RuleError):
    """A sign-in refused: wrong name or password, a disabled or locked account."""


@dataclass(frozen=True)
class UserDTO:
    """An account as the screens and the command line show it (never the hash)."""

    id: int
    username: str
    full_name: str
    role: str
    district: str | None
    store: str | None
    active: bool
    created_at: dt.datetime
    created_by: str
    last_sign_in_at: dt.datetime | None
    failed_sign_ins: int
    row_version: int

    @property
    def role_words(self) -> str:
        """The role in words (Vietnamese)."""
        return ROLES.get(self.role, self.role)

    @property
    def scope(self) -> str:
        """The district or store the account is limited to, or ""."""
        return (self.district if self.role == "head" else self.store if self.role == "clerk"
                else None) or ""

    def to_json(self) -> dict[str, object]:
        """The account for `--json` output."""
        return {"id": self.id, "username": self.username, "full_name": self.full_name,
                "role": self.role, "district": self.district, "store": self.store,
                "active": self.active, "created_at": self.created_at.isoformat(),
                "created_by": self.created_by,
                "last_sign_in_at": self.last_sign_in_at.isoformat()
                if self.last_sign_in_at else None,
                "failed_sign_ins": self.failed_sign_ins, "row_version": self.row_version}


@dataclass(frozen=True)
class ScopesDTO:
    """The districts and stores known from the lists and the billing data."""

    districts: tuple[str, ...]
    stores: tuple[str, ...]


def _dto(row: UserAccount) -> UserDTO:
    return UserDTO(row.id, row.username, row.full_name, row.role, row.district, row.store,
                   bool(row.active), row.created_at, row.created_by, row.last_sign_in_at,
                   row.failed_sign_ins, row.row_version)


def fold_username(text: str) -> str:
    """The stored form of a user name: trimmed, NFC, case-folded ("Lan" and "LAN" are one)."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", text.strip()).casefold())


def local_actor() -> Actor:
    """The person at this PC before any account exists: the local administrator."""
    try:
        name = getpass.getuser()
    except (KeyError, OSError):  # no user name in the environment (some services)
        name = ""
    return Actor(name or "quản trị", "admin")


def _check_username(text: str) -> str:
    username = fold_username(text)
    if not username:
        raise ValidationError("Cần tên đăng nhập.")
    if len(username) > 60 or any(ch.isspace() for ch in username):
        raise ValidationError("Tên đăng nhập không có khoảng trắng và dài tối đa 60 ký tự.")
    return username


def password_problem(username: str, password: str) -> str | None:
    """Why `password` is not acceptable for `username`, or None (the rule shown in forms)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Mật khẩu cần ít nhất {MIN_PASSWORD_LENGTH} ký tự."
    if fold_username(password) == fold_username(username):
        return "Mật khẩu không được trùng tên đăng nhập."
    return None


def _check_password(username: str, password: str) -> str:
    problem = password_problem(username, password)
    if problem:
        raise ValidationError(problem)
    return hasher().hash(password)


def _check_scope(role: str, district: str | None, store: str | None
                 ) -> tuple[str | None, str | None]:
    if role not in ROLES:
        raise ValidationError(f"Vai trò '{role}' không có; chọn: {', '.join(ROLES)}.")
    district = (district or "").strip() or None
    store = (store or "").strip() or None
    if role == "head":
        if district is None:
            raise ValidationError("Trưởng MF Quận/Huyện cần chọn quận/huyện phụ trách.")
        return district, None
    if role == "clerk":
        if store is None:
            raise ValidationError("Giao dịch viên cần chọn cửa hàng làm việc.")
        return None, store
    return None, None


def _account_state(row: UserAccount) -> dict[str, object]:
    return {"username": row.username, "full_name": row.full_name, "role": row.role,
            "district": row.district, "store": row.store, "active": bool(row.active)}


def _by_username(session: Session, username: str) -> UserAccount | None:
    return session.scalar(select(UserAccount).where(UserAccount.username == username))


def _get(session: Session, user_id: int) -> UserAccount:
    row = session.get(UserAccount, user_id)
    if row is None:
        raise NotFoundError(f"Không có người dùng số {user_id}.")
    return row


def has_accounts(factory: sessionmaker[Session]) -> bool:
    """Whether any account exists (if not, the PC user is the local administrator)."""
    with UnitOfWork(factory) as uow:
        return uow.session.scalar(select(func.count()).select_from(UserAccount)) != 0


def _insert(session: Session, *, by: str, username: str, full_name: str, password: str,
            role: str, district: str | None, store: str | None) -> UserAccount:
    username = _check_username(username)
    full_name = " ".join(full_name.split())
    if not full_name:
        raise ValidationError("Cần họ tên người dùng.")
    district, store = _check_scope(role, district, store)
    password_hash = _check_password(username, password)
    if _by_username(session, username) is not None:
        raise ConflictError(f"Tên đăng nhập '{username}' đã có người dùng.")
    row = UserAccount(username=username, full_name=full_name, password_hash=password_hash,
                      role=role, district=district, store=store, active=True, created_by=by,
                      created_at=utcnow(), password_changed_at=utcnow(), failed_sign_ins=0,
                      row_version=1)
    session.add(row)
    session.flush()
    audit.record(session, user=by, action="user_create", entity="user", entity_id=row.id,
                 summary=f"Tạo người dùng {username} ({ROLES[role]})",
                 after=_account_state(row))
    return row


def create_first_admin(factory: sessionmaker[Session], username: str, full_name: str,
                       password: str) -> UserDTO:
    """Create the first administrator; only while no account exists.

    Raises:
        ConflictError: an account already exists (then an administrator creates accounts).
        ValidationError: the name or password breaks the rules.
    """
    with UnitOfWork(factory, write=True) as uow:
        if uow.session.scalar(select(func.count()).select_from(UserAccount)):
            raise ConflictError("Đã có tài khoản; người dùng mới do quản trị tạo sau khi "
                                "đăng nhập.")
        row = _insert(uow.session, by=local_actor().name, username=username,
                      full_name=full_name, password=password, role="admin", district=None,
                      store=None)
        dto = _dto(row)
        uow.commit()
    logger.info("first administrator created")
    return dto


def create_user(factory: sessionmaker[Session], actor: Actor, *, username: str,
                full_name: str, password: str, role: str, district: str | None = None,
                store: str | None = None) -> UserDTO:
    """Create an account (administrators only; the first one through `create_first_admin`).

    Raises:
        PermissionProblem: the actor is not an administrator.
        ConflictError: the user name is taken.
        ValidationError: a missing scope, a bad name or a weak password.
    """
    actor.require("users")
    with UnitOfWork(factory, write=True) as uow:
        row = _insert(uow.session, by=actor.name, username=username, full_name=full_name,
                      password=password, role=role, district=district, store=store)
        dto = _dto(row)
        uow.commit()
    return dto


def list_users(factory: sessionmaker[Session], actor: Actor) -> list[UserDTO]:
    """Every account, by user name (administrators only)."""
    actor.require("users")
    with UnitOfWork(factory) as uow:
        return [_dto(r) for r in uow.session.scalars(
            select(UserAccount).order_by(UserAccount.username))]


def find_user(factory: sessionmaker[Session], actor: Actor, username: str) -> UserDTO:
    """One account by user name (administrators only)."""
    actor.require("users")
    with UnitOfWork(factory) as uow:
        row = _by_username(uow.session, fold_username(username))
        if row is None:
            raise NotFoundError(f"Không có người dùng '{fold_username(username)}'.")
        return _dto(row)


def known_scopes(factory: sessionmaker[Session]) -> ScopesDTO:
    """The districts and stores seen in the care lists and the billing data, sorted."""
    with UnitOfWork(factory) as uow:
        s = uow.session
        districts = {d for q in (select(CareCase.district).distinct(),
                                 select(Subscriber.district).distinct())
                     for d in s.scalars(q) if d}
        stores = {d for q in (select(CareCase.store).distinct(),
                              select(Subscriber.store).distinct())
                  for d in s.scalars(q) if d}
    return ScopesDTO(tuple(sorted(districts)), tuple(sorted(stores)))


def _other_active_admins(session: Session, user_id: int) -> int:
    return session.scalar(select(func.count()).select_from(UserAccount).where(
        UserAccount.role == "admin", UserAccount.active.is_(True),
        UserAccount.id != user_id)) or 0


def _bump(row: UserAccount, row_version: int | None) -> None:
    if row_version is not None and row.row_version != row_version:
        raise ConflictError(f"Tài khoản {row.username}: người khác vừa sửa; mở lại để xem "
                            "bản mới rồi sửa lại.")
    row.row_version += 1


def update_user(factory: sessionmaker[Session], actor: Actor, user_id: int, *,
                row_version: int, full_name: str, role: str, district: str | None = None,
                store: str | None = None, active: bool = True) -> UserDTO:
    """Change an account's name, role, scope and whether it may sign in (administrators).

    Args:
        row_version: the version the administrator saw; a newer one means someone else
            changed the account in between and nothing is written.

    Raises:
        ConflictError: someone else changed the account, or it is the last administrator.
    """
    actor.require("users")
    full_name = " ".join(full_name.split())
    if not full_name:
        raise ValidationError("Cần họ tên người dùng.")
    district, store = _check_scope(role, district, store)
    with UnitOfWork(factory, write=True) as uow:
        row = _get(uow.session, user_id)
        _bump(row, row_version)
        before = _account_state(row)
        if (row.role == "admin" and row.active and (role != "admin" or not active)
                and not _other_active_admins(uow.session, row.id)):
            raise ConflictError("Đây là quản trị duy nhất còn hoạt động; tạo quản trị khác "
                                "trước khi đổi vai trò hoặc khóa tài khoản này.")
        row.full_name, row.role, row.district, row.store = full_name, role, district, store
        row.active = active
        audit.record(uow.session, user=actor.name, action="user_update", entity="user",
                     entity_id=row.id, summary=f"Sửa người dùng {row.username}",
                     before=before, after=_account_state(row))
        dto = _dto(row)
        uow.commit()
    return dto


def set_active(factory: sessionmaker[Session], actor: Actor, user_id: int, active: bool
               ) -> UserDTO:
    """Let an account sign in again, or stop it (administrators; never the last admin)."""
    actor.require("users")
    with UnitOfWork(factory, write=True) as uow:
        row = _get(uow.session, user_id)
        if not active and row.role == "admin" and row.active and \
                not _other_active_admins(uow.session, row.id):
            raise ConflictError("Đây là quản trị duy nhất còn hoạt động; không khóa được.")
        before = _account_state(row)
        row.active = active
        if active:
            row.failed_sign_ins = 0
        _bump(row, None)
        audit.record(uow.session, user=actor.name,
                     action="user_enable" if active else "user_disable", entity="user",
                     entity_id=row.id,
                     summary=("Mở lại" if active else "Khóa") + f" người dùng {row.username}",
                     before=before, after=_account_state(row))
        dto = _dto(row)
        uow.commit()
    return dto


def reset_password(factory: sessionmaker[Session], actor: Actor, user_id: int,
                   new_password: str) -> UserDTO:
    """Give an account a new password (administrators); also lifts a lock."""
    actor.require("users")
    with UnitOfWork(factory, write=True) as uow:
        row = _get(uow.session, user_id)
        row.password_hash = _check_password(row.username, new_password)
        row.password_changed_at = utcnow()
        row.failed_sign_ins = 0
        _bump(row, None)
        audit.record(uow.session, user=actor.name, action="user_reset_password",
                     entity="user", entity_id=row.id,
                     summary=f"Đặt lại mật khẩu cho {row.username}")
        dto = _dto(row)
        uow.commit()
    return dto


def change_password(factory: sessionmaker[Session], actor: Actor, old_password: str,
                    new_password: str) -> None:
    """Change the signed-in person's own password; the old one must be given.

    Raises:
        SignInError: the old password is wrong.
        ValidationError: the new password breaks the rule.
    """
    if not actor.username:
        raise RuleError("Chưa có tài khoản nào; tạo quản trị đầu tiên trước khi đổi mật khẩu.")
    with UnitOfWork(factory, write=True) as uow:
        row = _by_username(uow.session, actor.username)
        if row is None or not row.active:
            raise SignInError("Tài khoản này không còn dùng được.")
        try:
            hasher().verify(row.password_hash, old_password)
        except (VerificationError, InvalidHashError) as exc:
            raise SignInError("Mật khẩu hiện tại không đúng.") from exc
        if old_password == new_password:
            raise ValidationError("Mật khẩu mới phải khác mật khẩu hiện tại.")
        row.password_hash = _check_password(row.username, new_password)
        row.password_changed_at = utcnow()
        _bump(row, None)
        audit.record(uow.session, user=actor.name, action="user_change_password",
                     entity="user", entity_id=row.id,
                     summary=f"{row.username} đổi mật khẩu")
        uow.commit()


def _locked_until(session: Session, row: UserAccount) -> dt.datetime | None:
    """When the lock after too many wrong passwords ends, or None if not locked."""
    if row.failed_sign_ins < MAX_FAILED_SIGN_INS:
        return None
    last = session.scalar(select(func.max(AuditEntry.at)).where(
        AuditEntry.entity == "user", AuditEntry.entity_id == row.id,
        AuditEntry.action == "sign_in_failed"))
    if last is None:
        return None
    if last.tzinfo is None:  # SQLite hands back naive UTC
        last = last.replace(tzinfo=dt.UTC)
    until: dt.datetime = last + dt.timedelta(minutes=LOCK_MINUTES)
    return until if until > utcnow() else None


def sign_in(factory: sessionmaker[Session], username: str, password: str) -> Actor:
    """Check a user name and password and return who signed in.

    Runs in a worker (no UI calls here). A wrong name and a wrong password get the same
    sentence, so the form does not tell which names exist. After `MAX_FAILED_SIGN_INS`
    wrong passwords in a row the account is locked for `LOCK_MINUTES` minutes.

    Raises:
        SignInError: wrong name or password, a disabled account, a locked account.
    """
    name = fold_username(username)
    failure: SignInError | None = None
    with UnitOfWork(factory, write=True) as uow:
        s = uow.session
        row = _by_username(s, name) if name else None
        if row is None:
            audit.record(s, user=name or "?", action="sign_in_failed", entity="user",
                         entity_id=None, summary=f"Đăng nhập sai: không có tên '{name}'")
            failure = SignInError(WRONG_SIGN_IN)
        elif not row.active:
            audit.record(s, user=name, action="sign_in_failed", entity="user",
                         entity_id=row.id, summary=f"Đăng nhập bị từ chối: {name} đã bị khóa")
            failure = SignInError("Tài khoản này đã bị khóa; nhờ quản trị mở lại.")
        elif (until := _locked_until(s, row)) is not None:
            minutes = max(1, round((until - utcnow()).total_seconds() / 60))
            audit.record(s, user=name, action="sign_in_refused", entity="user",
                         entity_id=row.id, summary=f"Đăng nhập khi đang tạm khóa: {name}")
            failure = SignInError(
                f"Đã nhập sai mật khẩu {row.failed_sign_ins} lần liên tiếp nên tài khoản tạm "
                f"khóa; thử lại sau {minutes} phút hoặc nhờ quản trị đặt lại mật khẩu.")
        else:
            ph = hasher()
            try:
                ph.verify(row.password_hash, password)
            except (VerificationError, InvalidHashError):
                row.failed_sign_ins += 1
                audit.record(s, user=name, action="sign_in_failed", entity="user",
                             entity_id=row.id,
                             summary=f"Đăng nhập sai mật khẩu: {name} "
                                     f"(lần {row.failed_sign_ins} liên tiếp)")
                failure = SignInError(WRONG_SIGN_IN)
                if row.failed_sign_ins >= MAX_FAILED_SIGN_INS:
                    failure = SignInError(
                        f"{WRONG_SIGN_IN} Đã sai {row.failed_sign_ins} lần liên tiếp: tài "
                        f"khoản tạm khóa {LOCK_MINUTES} phút.")
            else:
                if ph.check_needs_rehash(row.password_hash):
                    row.password_hash = ph.hash(password)
                row.failed_sign_ins = 0
                row.last_sign_in_at = utcnow()
                audit.record(s, user=name, action="sign_in", entity="user", entity_id=row.id,
                             summary=f"Đăng nhập: {name}")
                actor = Actor(row.full_name, row.role, row.district, row.store, row.username)
        # The failure is recorded too: commit first, then refuse.
        uow.commit()
    if failure is not None:
        logger.info("sign-in refused for a user name")
        raise failure
    logger.info("signed in (%s)", actor.role)
    return actor
