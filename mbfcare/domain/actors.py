"""Who does something, what their role lets them do, and which part of the lists they see.

Roles follow the office (issue 8): the CSKH department administers (programme, imports,
users); a district head works his district's lists, home visits and bulk recording; a clerk
works his store's desk and lists; a viewer (e.g. the regional office) reads reports. The
checks live here and are called by the services, so the window and the command line are
refused alike; hiding a button is only a courtesy.
"""

from __future__ import annotations

from dataclasses import dataclass

from mbfcare.errors import RuleError

ROLES = {
    "admin": "Quản trị (Phòng CSKH)",
    "head": "Trưởng MF Quận/Huyện",
    "clerk": "Giao dịch viên",
    "viewer": "Chỉ xem",
}

PERMISSIONS: dict[str, frozenset[str]] = {
    # record steps, handovers, outcomes, surveys, collected profiles (within the scope)
    "record": frozenset({"admin", "head", "clerk"}),
    # undo a step, a handover or an outcome (with a reason)
    "correct": frozenset({"admin", "head"}),
    # receive, transfer, return and write off gift stock
    "stock": frozenset({"admin", "head"}),
    # record many cases from a file, plan and record home visits
    "bulk": frozenset({"admin", "head"}),
    # change programme rules, survey forms, form texts; decide gap cases; classify
    "manage": frozenset({"admin"}),
    # import billing extracts
    "import": frozenset({"admin"}),
    # create, disable and reset user accounts; office-wide settings; purge; restore
    "users": frozenset({"admin"}),
    # write a file or print a document that holds personal data (within the scope)
    "export_personal": frozenset({"admin", "head", "clerk"}),
    # read reports and counts (no personal data)
    "report": frozenset({"admin", "head", "clerk", "viewer"}),
    # open care lists and look customers up (within the scope)
    "view_lists": frozenset({"admin", "head", "clerk"}),
}

_ACTION_WORDS = {
    "record": "ghi kết quả chăm sóc",
    "correct": "hủy hoặc sửa một bước đã ghi",
    "stock": "nhập, chuyển hoặc xuất hủy quà trong kho",
    "bulk": "ghi hàng loạt hoặc lập lịch đến nhà",
    "manage": "thay đổi chương trình",
    "import": "nhập dữ liệu cước",
    "users": "quản lý người dùng và cài đặt chung",
    "export_personal": "xuất hoặc in thông tin cá nhân của khách hàng",
    "report": "xem báo cáo",
    "view_lists": "xem danh sách chăm sóc",
}


class PermissionProblem(RuleError):
    """The actor's role or scope does not allow the action; the message says who may."""


@dataclass(frozen=True)
class Actor:
    """The person doing an action, as recorded in the audit log.

    Attributes:
        name: shown in the audit log and on documents (the account's full name).
        role: a key of ROLES.
        district: a district head's district (his lists); None for other roles.
        store: a clerk's store (his desk and lists); None for other roles.
        username: the account signed in, or "" for a local administrator before any
            account exists and for tests.
    """

    name: str
    role: str = "admin"
    district: str | None = None
    store: str | None = None
    username: str = ""

    def may(self, action: str) -> bool:
        """Whether the role allows `action` (a key of PERMISSIONS)."""
        return self.role in PERMISSIONS[action]

    def require(self, action: str) -> None:
        """Raise `PermissionProblem` unless the role allows `action`."""
        if not self.may(action):
            allowed = ", ".join(ROLES[r] for r in ROLES if r in PERMISSIONS[action])
            raise PermissionProblem(
                f"Vai trò {ROLES.get(self.role, self.role)} không được {_ACTION_WORDS[action]}; "
                f"cần: {allowed}.")

    @property
    def scoped(self) -> bool:
        """True when the actor sees only part of the lists (a head's district, a clerk's store)."""
        return (self.role == "head" and self.district is not None) or (
            self.role == "clerk" and self.store is not None)

    def sees(self, district: str | None, store: str | None) -> bool:
        """Whether a case of `district` and `store` lies within the actor's scope."""
        if self.role == "head" and self.district is not None:
            return district == self.district
        if self.role == "clerk" and self.store is not None:
            return store == self.store
        return self.role != "viewer"

    def require_sees(self, district: str | None, store: str | None, what: str) -> None:
        """Raise `PermissionProblem` unless `what` (e.g. "thuê bao 0912…") is in scope."""
        if self.sees(district, store):
            return
        if self.role == "head":
            where = f"quận/huyện {self.district}"
        elif self.role == "clerk":
            where = f"cửa hàng {self.store}"
        else:
            where = "danh sách chăm sóc"
        raise PermissionProblem(f"{what} không thuộc {where} của bạn; chỉ người phụ trách "
                                "nơi đó hoặc quản trị mới làm được.")
