"""Fixtures of the window's tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mbfcare.ui import messages


@pytest.fixture
def sink() -> Iterator[list[tuple[str, str, str]]]:
    """Every message the screens show, as (kind, text, details); confirmations say yes.

    A module that needs "no" to confirmations defines its own `sink`.
    """
    recorded: list[tuple[str, str, str]] = []

    def record(kind: str, text: str, details: str) -> bool:
        recorded.append((kind, text, details))
        return True

    messages.set_sink(record)
    yield recorded
    messages.set_sink(None)
