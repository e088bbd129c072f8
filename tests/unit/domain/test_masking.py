"""Masking of phone and ID numbers where the whole number is not needed."""

from __future__ import annotations

import pytest

from mbfcare.domain.masking import (
    mask_audit_values,
    mask_id_number,
    mask_numbers_in_text,
    mask_phone,
    shown_id_number,
    shown_phone,
)


@pytest.mark.parametrize(("value", "shown"), [
    ("0912345678", "0912 *** 678"), ("84912345678", "84912 *** 678"), ("0912 345 678",
                                                                       "0912 *** 678"),
    ("12345", "***"), ("", ""), (None, ""),
])
def test_mask_phone(value: str | None, shown: str) -> None:
    assert mask_phone(value) == shown


@pytest.mark.parametrize(("value", "shown"), [
    ("079012345612", "0790******12"), ("012345678", "012****78"), ("1234", "****"),
    ("", ""), (None, ""),
])
def test_mask_id_number(value: str | None, shown: str) -> None:
    assert mask_id_number(value) == shown


def test_numbers_in_free_text_are_masked_and_other_numbers_kept() -> None:
    text = "Trao quà – 0912 345 678, CCCD 079012345612, 84912345678; 2026, 1.200.000 đ"
    assert mask_numbers_in_text(text) == (
        "Trao quà – 0912 *** 678, CCCD 0790******12, 84912 *** 678; 2026, 1.200.000 đ")


def test_audit_values_mask_numbers_and_hide_address_and_birth() -> None:
    masked = mask_audit_values({"name": "An", "id_number": "031180001234",
                                "contact_number": "0987654321", "address": "12 Lê Lợi",
                                "birth_date": "1980-09-05", "inner": {"id_number": "012345678"},
                                "on": None})
    assert masked == {"name": "An", "id_number": "0311******34",
                      "contact_number": "0987 *** 321", "address": "(đã ẩn)",
                      "birth_date": "(đã ẩn)", "inner": {"id_number": "012****78"},
                      "on": None}


def test_shown_follows_the_office_setting() -> None:
    assert shown_phone("0912345678", True) == "0912 *** 678"
    assert shown_phone("0912345678", False) == "0912345678"
    assert shown_id_number("079012345612", True) == "0790******12"
    assert shown_id_number(None, False) == ""
