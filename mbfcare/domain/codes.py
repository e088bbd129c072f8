"""The codes printed as QR on invitations, receipts and forms, and what a scan means.

A USB scanner types the code like a keyboard, so the code is short, upper-case ASCII with
dashes only (no character a Vietnamese input method would turn into a letter with a mark):
`MBFC-<kind>-<programme>-<entry>-<TOKEN>-<check>`, e.g. `MBFC-R-1-4821-K7Q2M9-63`. TOKEN is
six Crockford base-32 characters drawn by `secrets` for each printed copy (the print log keeps
it), so a reprinted old copy or a forged one is refused; the check digits catch a mistyped or
misread code before anything is looked up. Beside the QR the paper carries the short check
code `<entry>-<TOKEN>` (`4821-K7Q2M9`), for typing when the QR cannot be scanned.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from mbfcare.domain.values import ValueProblem, parse_msisdn

KINDS = {
    "I": "invitation",  # giấy mời
    "R": "receipt",  # biên bản giao nhận quà
    "S": "survey",  # phiếu khảo sát
    "F": "info_form",  # phiếu thu thập thông tin
    "L": "signature_list",  # danh sách ký nhận
}
_LETTER = {kind: letter for letter, kind in KINDS.items()}
# Crockford's base 32: no I, L, O, U, so nothing is read as 1 or 0 or spells a word.
TOKEN_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
TOKEN_LENGTH = 6
_TYPED_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})
_CODE_RE = re.compile(r"^MBFC-([A-Z])-(\d{1,9})-(\d{1,12})-([0-9A-Z]{6})-(\d{2})$")
_OLD_CODE_RE = re.compile(r"^MBFC-([A-Z])-(\d{1,9})-(\d{1,12})-(\d{2})$")
_SHORT_RE = re.compile(r"^(\d{1,12})-([0-9A-Z]{6})$")


class ScanProblem(ValueError):
    """The scanned or typed text is neither a code of ours nor a subscriber number."""


@dataclass(frozen=True)
class EntryCode:
    """A care-list entry named by a printed code, with the token of the printed copy.

    The short typed form (`4821-K7Q2M9`) names neither the kind nor the programme: both are
    None then, and the print log says them.
    """

    kind: str | None  # a value of KINDS
    programme_id: int | None
    case_id: int
    token: str


@dataclass(frozen=True)
class NumberTyped:
    """A subscriber number typed (or scanned) in any usual form, in its 10-digit form."""

    msisdn: str


def new_token() -> str:
    """A fresh random token for one printed copy (at least one letter, so that the short
    typed form can never be read as a phone number)."""
    while True:
        token = "".join(secrets.choice(TOKEN_ALPHABET) for _ in range(TOKEN_LENGTH))
        if not token.isdigit():
            return token


def _token_value(token: str) -> int:
    value = 0
    for char in token:
        value = value * 32 + TOKEN_ALPHABET.index(char)
    return value


def _check(letter: str, programme_id: int, case_id: int, token: str) -> int:
    # ISO 7064 mod 97-10 over the digits, as IBANs use: any single wrong digit and any swap
    # of two neighbours changes it.
    digits = f"{ord(letter)}{programme_id}{case_id}{_token_value(token)}"
    return 98 - (int(digits) * 100) % 97


def _clean_token(token: str) -> str | None:
    """The token in its canonical form (typed O, I, L read as 0, 1, 1), None if impossible."""
    canonical = token.upper().translate(_TYPED_AS)
    if len(canonical) != TOKEN_LENGTH or any(c not in TOKEN_ALPHABET for c in canonical):
        return None
    return canonical


def entry_code(kind: str, programme_id: int, case_id: int, token: str) -> str:
    """The code printed as QR for one entry on a document of `kind` (a value of KINDS)."""
    letter = _LETTER[kind]
    clean = _clean_token(token)
    if clean is None:
        raise ValueError(f"bad token {token!r}")
    check = _check(letter, programme_id, case_id, clean)
    return f"MBFC-{letter}-{programme_id}-{case_id}-{clean}-{check:02d}"


def check_code(case_id: int, token: str) -> str:
    """The short code printed beside the QR, to type when the QR cannot be scanned."""
    return f"{case_id}-{token}"


def parse_scan(text: str) -> EntryCode | NumberTyped:
    """What the desk's input means: a printed code (full or short), or a subscriber number.

    Raises:
        ScanProblem: with one sentence saying what to do.
    """
    raw = text.strip()
    # A scanner on a keyboard layout with Caps Lock on, or typed by hand in lower case.
    upper = raw.upper().replace(" ", "")
    if upper.startswith("MBFC"):
        match = _CODE_RE.match(upper)
        if match is None:
            if _OLD_CODE_RE.match(upper):
                raise ScanProblem(f"Mã '{raw}' là mẫu cũ, không có mã bản in; in lại giấy "
                                  "hoặc nhập số thuê bao.")
            raise ScanProblem(f"Mã '{raw}' không đúng dạng mã in của MBF Care; quét lại hoặc "
                              "nhập số thuê bao.")
        letter, programme, case = match.group(1), int(match.group(2)), int(match.group(3))
        token = _clean_token(match.group(4))
        if letter not in KINDS or token is None or \
                int(match.group(5)) != _check(letter, programme, case, token):
            raise ScanProblem(f"Mã '{raw}' sai số kiểm tra (quét lỗi hoặc gõ nhầm); quét lại "
                              "hoặc nhập số thuê bao.")
        return EntryCode(KINDS[letter], programme, case, token)
    short = _SHORT_RE.match(upper)
    if short is not None and not short.group(2).isdigit():
        token = _clean_token(short.group(2))
        if token is None:
            raise ScanProblem(f"Mã kiểm tra '{raw}' có ký tự không dùng trong mã in (U); "
                              "gõ lại theo giấy hoặc nhập số thuê bao.")
        return EntryCode(None, None, int(short.group(1)), token)
    try:
        return NumberTyped(parse_msisdn(raw).number)
    except ValueProblem as exc:
        raise ScanProblem(f"'{raw}' không phải số thuê bao hay mã in của MBF Care; kiểm tra "
                          "lại.") from exc
