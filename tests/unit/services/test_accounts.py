from __future__ import annotations

import datetime as dt

import pytest
from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from sqlalchemy import select, update

from mbfcare.domain.actors import Actor, PermissionProblem
from mbfcare.errors import ConflictError, RuleError, ValidationError
from mbfcare.models import AuditEntry
from mbfcare.models.accounts import UserAccount
from mbfcare.services import accounts
from mbfcare.services.accounts import SignInError

PASSWORD = "mat-khau-dai-1"


@pytest.fixture
def admin(factory) -> Actor:
    accounts.create_first_admin(factory, "QuanTri", "Trần Quản Trị", PASSWORD)
    return accounts.sign_in(factory, "quantri", PASSWORD)


def _hash_of(factory, username: str) -> str:
    with factory() as s:
        return s.scalar(select(UserAccount.password_hash)
                        .where(UserAccount.username == username))


def _audit(factory) -> list[tuple[str, str, str]]:
    with factory() as s:
        return [(e.user, e.action, e.summary)
                for e in s.scalars(select(AuditEntry).order_by(AuditEntry.id))]


def test_first_admin_only_once(factory):
    assert not accounts.has_accounts(factory)
    dto = accounts.create_first_admin(factory, " QuanTri ", "Trần  Quản Trị", PASSWORD)
    assert (dto.username, dto.full_name, dto.role) == ("quantri", "Trần Quản Trị", "admin")
    assert accounts.has_accounts(factory)
    with pytest.raises(ConflictError, match="Đã có tài khoản"):
        accounts.create_first_admin(factory, "khac", "Người Khác", PASSWORD)
    assert [a for _, a, _ in _audit(factory)] == ["user_create"]


def test_hash_is_argon2id_at_least_owasp_minimum(factory, admin):
    stored = _hash_of(factory, "quantri")
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored
    params = dict(p.split("=") for p in stored.split("$")[3].split(","))
    assert int(params["m"]) >= accounts.OWASP_MINIMUM["memory_cost"] == 19 * 1024
    assert int(params["t"]) >= accounts.OWASP_MINIMUM["time_cost"]
    assert int(params["p"]) >= accounts.OWASP_MINIMUM["parallelism"]
    for key, minimum in accounts.OWASP_MINIMUM.items():
        assert accounts.HASH_PARAMETERS[key] >= minimum


def test_rehash_on_sign_in_when_parameters_rise(factory, admin, monkeypatch):
    before = _hash_of(factory, "quantri")
    assert "t=3" in before
    monkeypatch.setitem(accounts.HASH_PARAMETERS, "time_cost", 4)
    accounts.sign_in(factory, "quantri", PASSWORD)
    after = _hash_of(factory, "quantri")
    assert after != before and ",t=4," in after
    PasswordHasher().verify(after, PASSWORD)
    # Unchanged parameters: no new hash.
    accounts.sign_in(factory, "quantri", PASSWORD)
    assert _hash_of(factory, "quantri") == after


def test_sign_in_folds_the_name_and_records_it(factory, admin):
    actor = accounts.sign_in(factory, "QUANTRI", PASSWORD)
    assert actor == Actor("Trần Quản Trị", "admin", None, None, "quantri")
    users = accounts.list_users(factory, actor)
    assert users[0].last_sign_in_at is not None
    assert ("quantri", "sign_in", "Đăng nhập: quantri") in _audit(factory)


def test_wrong_name_or_password_same_sentence(factory, admin):
    with pytest.raises(SignInError) as wrong_password:
        accounts.sign_in(factory, "quantri", "sai-mat-khau-roi")
    with pytest.raises(SignInError) as wrong_name:
        accounts.sign_in(factory, "khong-co", PASSWORD)
    assert str(wrong_password.value) == str(wrong_name.value) == accounts.WRONG_SIGN_IN
    assert wrong_password.value.exit_code == 4
    log = _audit(factory)
    assert [a for _, a, _ in log][-2:] == ["sign_in_failed", "sign_in_failed"]
    assert not any(PASSWORD in s or "sai-mat-khau-roi" in s for _, _, s in log)
    assert accounts.list_users(factory, admin)[0].failed_sign_ins == 1


def test_disabled_account_refused(factory, admin):
    clerk = accounts.create_user(factory, admin, username="lan", full_name="Lê Thị Lan",
                                 password=PASSWORD, role="clerk", store="CH Lê Chân")
    accounts.set_active(factory, admin, clerk.id, False)
    with pytest.raises(SignInError, match="đã bị khóa"):
        accounts.sign_in(factory, "lan", PASSWORD)
    accounts.set_active(factory, admin, clerk.id, True)
    assert accounts.sign_in(factory, "lan", PASSWORD).store == "CH Lê Chân"


def test_lockout_after_five_failures(factory, admin, monkeypatch):
    for n in range(1, 6):
        with pytest.raises(SignInError) as exc:
            accounts.sign_in(factory, "quantri", f"sai-lan-thu-{n}")
    assert "tạm khóa 5 phút" in str(exc.value)
    # The right password does not help while locked.
    with pytest.raises(SignInError, match="thử lại sau 5 phút"):
        accounts.sign_in(factory, "quantri", PASSWORD)
    # Five minutes later it does, and the count starts again.
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=6)
    monkeypatch.setattr(accounts, "utcnow", lambda: later)
    assert accounts.sign_in(factory, "quantri", PASSWORD).role == "admin"
    with factory() as s:
        assert s.scalar(select(UserAccount.failed_sign_ins)) == 0


def test_reset_password_lifts_the_lock(factory, admin):
    clerk = accounts.create_user(factory, admin, username="lan", full_name="Lê Thị Lan",
                                 password=PASSWORD, role="clerk", store="CH Lê Chân")
    for n in range(5):
        with pytest.raises(SignInError):
            accounts.sign_in(factory, "lan", f"sai-lan-thu-{n}")
    accounts.reset_password(factory, admin, clerk.id, "mat-khau-moi-2")
    assert accounts.sign_in(factory, "lan", "mat-khau-moi-2").username == "lan"


def test_password_rules(factory, admin):
    with pytest.raises(ValidationError, match="ít nhất 10 ký tự"):
        accounts.create_user(factory, admin, username="lan", full_name="Lan", password="ngan",
                             role="viewer")
    with pytest.raises(ValidationError, match="trùng tên đăng nhập"):
        accounts.create_user(factory, admin, username="nguyenthilan", full_name="Lan",
                             password="NguyenThiLan", role="viewer")
    assert accounts.password_problem("lan", "0123456789") is None


def test_scope_required_by_role(factory, admin):
    with pytest.raises(ValidationError, match="quận/huyện"):
        accounts.create_user(factory, admin, username="hung", full_name="Hùng",
                             password=PASSWORD, role="head")
    with pytest.raises(ValidationError, match="cửa hàng"):
        accounts.create_user(factory, admin, username="lan", full_name="Lan",
                             password=PASSWORD, role="clerk")
    head = accounts.create_user(factory, admin, username="hung", full_name="Hùng",
                                password=PASSWORD, role="head", district="Lê Chân",
                                store="ignored")
    assert (head.district, head.store, head.scope) == ("Lê Chân", None, "Lê Chân")
    with pytest.raises(ConflictError, match="đã có người dùng"):
        accounts.create_user(factory, admin, username="HUNG", full_name="Hùng 2",
                             password=PASSWORD, role="viewer")


def test_only_admin_manages_users(factory, admin):
    accounts.create_user(factory, admin, username="lan", full_name="Lan", password=PASSWORD,
                         role="clerk", store="CH Lê Chân")
    clerk = accounts.sign_in(factory, "lan", PASSWORD)
    with pytest.raises(PermissionProblem, match="quản lý người dùng"):
        accounts.create_user(factory, clerk, username="x1", full_name="X", password=PASSWORD,
                             role="admin")
    with pytest.raises(RuleError):
        accounts.list_users(factory, clerk)


def test_update_user_stale_version_refused(factory, admin):
    dto = accounts.create_user(factory, admin, username="lan", full_name="Lan",
                               password=PASSWORD, role="clerk", store="CH Lê Chân")
    first = accounts.update_user(factory, admin, dto.id, row_version=dto.row_version,
                                 full_name="Lê Thị Lan", role="head", district="Lê Chân")
    assert (first.role, first.district, first.row_version) == ("head", "Lê Chân", 2)
    with pytest.raises(ConflictError, match="người khác vừa sửa"):
        accounts.update_user(factory, admin, dto.id, row_version=dto.row_version,
                             full_name="Lan cũ", role="viewer")
    assert accounts.find_user(factory, admin, "LAN").full_name == "Lê Thị Lan"


def test_last_admin_cannot_be_disabled_or_demoted(factory, admin):
    me = accounts.find_user(factory, admin, "quantri")
    with pytest.raises(ConflictError, match="quản trị duy nhất"):
        accounts.set_active(factory, admin, me.id, False)
    with pytest.raises(ConflictError, match="quản trị duy nhất"):
        accounts.update_user(factory, admin, me.id, row_version=me.row_version,
                             full_name=me.full_name, role="viewer")


def test_change_own_password_needs_the_old_one(factory, admin):
    with pytest.raises(SignInError, match="hiện tại không đúng"):
        accounts.change_password(factory, admin, "khong-phai", "mat-khau-moi-2")
    accounts.change_password(factory, admin, PASSWORD, "mat-khau-moi-2")
    with pytest.raises(VerificationError):
        PasswordHasher().verify(_hash_of(factory, "quantri"), PASSWORD)
    assert accounts.sign_in(factory, "quantri", "mat-khau-moi-2").role == "admin"
    assert "user_change_password" in [a for _, a, _ in _audit(factory)]


def test_known_scopes_from_lists_and_subscribers(factory, programme_id):
    from care_data import STORE, seed_listed

    seed_listed(factory, programme_id)
    scopes = accounts.known_scopes(factory)
    assert scopes.districts == ("Hồng Bàng", "Lê Chân")
    # Cases get the district's store when the billing data has none.
    assert scopes.stores == ("Cửa hàng MobiFone Hồng Bàng", STORE)


def test_audit_chain_stays_valid(factory, admin):
    from mbfcare.services.audit import verify_chain

    with pytest.raises(SignInError):
        accounts.sign_in(factory, "quantri", "sai-mat-khau-roi")
    with factory.begin() as s:
        s.execute(update(UserAccount).values(failed_sign_ins=0))
    assert verify_chain(factory) == []
