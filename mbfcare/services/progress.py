"""The progress/cancel token long work receives; no Qt here."""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    """Reports progress and tells long work whether the user cancelled it."""

    def report(self, done: int, total: int, text: str = "") -> None:
        """`done` of `total` units finished (`total` 0 when unknown)."""

    def cancelled(self) -> bool:
        """True once the user asked to stop; work then raises `Cancelled` and rolls back."""


class NullProgress:
    """Progress that goes nowhere and is never cancelled."""

    def report(self, done: int, total: int, text: str = "") -> None:
        """Ignore the report."""

    def cancelled(self) -> bool:
        """Never cancelled."""
        return False
