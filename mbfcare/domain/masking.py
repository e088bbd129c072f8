"""Masking of ID and contact numbers where the whole number is not needed (Law 91/2025/QH15).

Pure functions, no DB: the screens, the reports and the audit log call them when the
office's `mask_personal` setting is on (it is by default); the app's log file always masks.
A masked number keeps enough digits for a person to recognise it on the phone
(`0912 *** 678`) and none that would let it be dialled or used to open an account.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

MASK_SETTING = "mask_personal"
"""The `office_settings` key: True (default) masks ID and contact numbers in lists."""

MASK_DEFAULT = True

# Keys whose values the audit log keeps masked or hidden (services.audit.record).
AUDIT_MASKED_KEYS = frozenset({"id_number", "contact_number", "contact", "phone"})
AUDIT_HIDDEN_KEYS = frozenset({"address", "birth_date", "birth"})
HIDDEN = "(đã ẩn)"

# Runs of 9 to 12 digits, optionally grouped by spaces, dots or dashes (0912 345 678,
# 0912.345.678, 84912345678, 079012345612), not part of a longer number.
_NUMBER_RUN = re.compile(r"(?<![\d*])(?:\+?\d[ .\-]?){8,11}\d(?![\d*])")


def _digits(value: str) -> str:
    return "".join(ch for ch in value if ch.isdigit())


def mask_phone(value: str | None) -> str:
    """A phone number shown without its middle digits: `0912345678` -> `0912 *** 678`.

    Numbers in `84…` form keep their form (`84912 *** 678`); anything shorter than 7 digits
    becomes `***`; None and "" stay "".
    """
    if not value:
        return ""
    digits = _digits(value)
    if len(digits) < 7:
        return "***"
    return f"{digits[:-6]} *** {digits[-3:]}"


def mask_id_number(value: str | None) -> str:
    """An ID number with only its ends shown: CCCD `079012345612` -> `0790******12`,
    CMND `012345678` -> `012****78`. None and "" stay ""."""
    if not value:
        return ""
    digits = _digits(value) or value.strip()
    if len(digits) <= 4:
        return "*" * len(digits)
    head = 4 if len(digits) >= 12 else 3
    return digits[:head] + "*" * (len(digits) - head - 2) + digits[-2:]


def mask_numbers_in_text(text: str) -> str:
    """Every phone-like or ID-like run of 9–12 digits in `text` masked (for free text such as
    audit summaries): `Trao quà – 0912 345 678` -> `Trao quà – 0912 *** 678`."""

    def repl(match: re.Match[str]) -> str:
        digits = _digits(match.group(0))
        # 10 digits (0…) and 11 (84…) are phone numbers; 9 (CMND) and 12 (CCCD) are IDs.
        return mask_id_number(digits) if len(digits) in (9, 12) else mask_phone(digits)

    return _NUMBER_RUN.sub(repl, text)


def shown_phone(value: str | None, masked: bool) -> str:
    """`value` as a list shows it: masked when the office setting says so."""
    return mask_phone(value) if masked else (value or "")


def shown_id_number(value: str | None, masked: bool) -> str:
    """An ID number as a list shows it: masked when the office setting says so."""
    return mask_id_number(value) if masked else (value or "")


def mask_audit_values(values: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """An audit entry's before/after with ID and contact numbers masked and the address and
    birth date hidden (the log keeps that they changed, not what they were), recursively."""
    if values is None:
        return None
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key in AUDIT_MASKED_KEYS and isinstance(value, str):
            out[key] = mask_phone(value) if key != "id_number" else mask_id_number(value)
        elif key in AUDIT_HIDDEN_KEYS and value not in (None, ""):
            out[key] = HIDDEN
        elif isinstance(value, Mapping):
            out[key] = mask_audit_values(value)
        else:
            out[key] = value
    return out
