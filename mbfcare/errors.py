"""Errors typed by whose fault they are; each maps to an exit status of the command line."""

from __future__ import annotations


class MbfCareError(Exception):
    """Expected failure; its message is one sentence safe to show without a traceback."""

    exit_code = 1


class UsageError(MbfCareError):
    """The command or form was used wrongly (a missing option, a bad value)."""

    exit_code = 2


class ValidationError(UsageError):
    """A value typed by the user cannot be understood."""


class ImportFileError(MbfCareError):
    """A file refused as a whole: unreadable, not a list, too large, unsafe. Nothing changed."""

    exit_code = 3


class RuleError(MbfCareError):
    """A programme rule refused the operation (second handover, no stock, no permission)."""

    exit_code = 4


class ConflictError(RuleError):
    """Someone else changed or holds the same record."""


class NotFoundError(RuleError):
    """The programme, batch or subscriber named does not exist."""


class StorageError(MbfCareError):
    """The database cannot be used (locked, disk full, no permission): not our bug."""

    exit_code = 1


class Cancelled(MbfCareError):
    """The user cancelled a long operation; everything it did was rolled back."""

    exit_code = 1
