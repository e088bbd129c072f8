"""The codes printed as QR on invitations, receipts and forms, and what a scan means.

A USB scanner types the code like a keyboard, so the code is short, upper-case ASCII with
dashes only (no character a Vietnamese input method would turn into a letter with a mark):
`MBFC-<kind>-<programme>-<entry>-<check>`, e.g. `MBFC-S-1-4821-63`. The check digits catch a
mistyped or misread code before it can open the wrong customer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mbfcare.domain.values import ValueProblem, parse_msisdn

KINDS = {
    "I": "invitation",  # giấy mời
    "R": "receipt",  # biên bản giao nhận quà
    "S": "survey",  # phiếu khảo sát
    "F": "info_form",  # phiếu thu thập thông tin
    "L": "signature_list",  # danh sách ký nhận (one code per line)
}
_LETTER = {kind: letter for letter, kind in KINDS.items()}
_CODE_RE = re.compile(r"^MBFC-([A-Z])-(\d{1,9})-(\d{1,12})-(\d{2})$")


class ScanProblem(ValueError):
    """The scanned or typed text is neither a code of ours nor a subscriber number."""


@dataclass(frozen=True)
class EntryCode:
    """A care-list entry named by a printed code."""

    kind: str  # a value of KINDS
    programme_id: int
    case_id: int


@dataclass(frozen=True)
class NumberTyped:
    """A subscriber number typed (or scanned) in any usual form, in its 10-digit form."""

    msisdn: str


def _check(letter: str, programme_id: int, case_id: int) -> int:
    # ISO 7064 mod 97-10 over the digits, as IBANs use: any single wrong digit and any swap
    # of two neighbours changes it.
    digits = f"{ord(letter)}{programme_id}{case_id}"
    return 98 - (int(digits) * 100) % 97


def entry_code(kind: str, programme_id: int, case_id: int) -> str:
    """The code printed for one entry on a document of `kind` (a value of KINDS)."""
    letter = _LETTER[kind]
    return f"MBFC-{letter}-{programme_id}-{case_id}-{_check(letter, programme_id, case_id):02d}"


def parse_scan(text: str) -> EntryCode | NumberTyped:
    """What the desk's input means: a printed code, or a subscriber number.

    Raises:
        ScanProblem: with one sentence saying what to do.
    """
    raw = text.strip()
    # A scanner on a keyboard layout with Caps Lock on, or typed by hand in lower case.
    upper = raw.upper().replace(" ", "")
    if upper.startswith("MBFC"):
        match = _CODE_RE.match(upper)
        if match is None:
            raise ScanProblem(f"Mã '{raw}' không đúng dạng mã in của MBF Care; quét lại hoặc "
                              "nhập số thuê bao.")
        letter, programme, case = match.group(1), int(match.group(2)), int(match.group(3))
        if letter not in KINDS or int(match.group(4)) != _check(letter, programme, case):
            raise ScanProblem(f"Mã '{raw}' sai số kiểm tra (quét lỗi hoặc gõ nhầm); quét lại "
                              "hoặc nhập số thuê bao.")
        return EntryCode(KINDS[letter], programme, case)
    try:
        return NumberTyped(parse_msisdn(raw).number)
    except ValueProblem as exc:
        raise ScanProblem(f"'{raw}' không phải số thuê bao hay mã in của MBF Care; kiểm tra "
                          "lại.") from exc
