"""Who does something, and what their role lets them do.

Until sign-in exists (issue 8) the command line names the user with `--user` and the role
with `MBFCARE_ROLE`, and the window uses the account of the PC; the checks are already the
real ones, so corrections are refused to a clerk today and tomorrow.
"""

from __future__ import annotations

from dataclasses import dataclass

ROLES = {
    "admin": "Quản trị",
    "head": "Trưởng MF Quận/Huyện",
    "care": "Phòng CSKH",
    "clerk": "Giao dịch viên",
    "viewer": "Chỉ xem",
}

PERMISSIONS: dict[str, frozenset[str]] = {
    # record steps, handovers, outcomes, surveys, collected profiles
    "record": frozenset({"admin", "head", "care", "clerk"}),
    # undo a step, a handover or an outcome (with a reason)
    "correct": frozenset({"admin", "head", "care"}),
    # receive, transfer, return and write off gift stock
    "stock": frozenset({"admin", "head", "care"}),
    # change programme rules, survey forms, decide gap cases
    "manage": frozenset({"admin", "care"}),
}

_ACTION_WORDS = {
    "record": "ghi kết quả chăm sóc",
    "correct": "hủy hoặc sửa một bước đã ghi",
    "stock": "nhập, chuyển hoặc xuất hủy quà trong kho",
    "manage": "thay đổi chương trình",
}


class PermissionProblem(ValueError):
    """The actor's role does not allow the action; the message says who may."""


@dataclass(frozen=True)
class Actor:
    """The person doing an action, as recorded in the audit log."""

    name: str
    role: str = "admin"

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
