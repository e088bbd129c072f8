"""SMS texts: GSM 03.38 / UCS-2 length and parts, Vietnamese without diacritics, templates.

A message whose every character is in the GSM 03.38 default alphabet (or its extension
table) goes as GSM-7: 160 septets in one SMS, 153 per part once it needs several (the rest
is the concatenation header). Anything else, Vietnamese with diacritics included, goes as
UCS-2: 70 UTF-16 code units in one SMS, 67 per part. An extension character (`€ [ ] { } ^
~ \\ |`) costs two septets (ESC + code) that a part never splits, and a character outside
the Basic Multilingual Plane (an emoji) costs two code units (a surrogate pair) that a part
never splits either.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

from mbfcare.domain.vntext import fold
from mbfcare.paths import resource_file

__all__ = [
    "GSM7",
    "GSM7_BASIC",
    "GSM7_EXTENSION",
    "PLACEHOLDERS",
    "SAMPLE_VALUES",
    "UCS2",
    "SmsCount",
    "SmsTemplates",
    "TemplateProblem",
    "check_template",
    "default_templates",
    "make_message",
    "render_template",
    "sms_count",
    "sms_encoding",
    "sms_length",
    "sms_parts",
    "split_parts",
    "strip_diacritics",
]

GSM7 = "GSM-7"
UCS2 = "UCS-2"

# 3GPP TS 23.038 §6.2.1, the default alphabet in code order (0x00-0x7F) without 0x1B, the
# escape to the extension table.
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# §6.2.1.1, the extension table: each costs two septets (ESC + its code).
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

_LIMITS = {GSM7: (160, 153), UCS2: (70, 67)}

PLACEHOLDERS: dict[str, str] = {
    "ten": "Họ tên khách hàng",
    "qua": "Quà tặng",
    "cua_hang": "Cửa hàng nhận quà",
    "dia_chi": "Địa chỉ khách hàng",
    "han": "Hạn nhận quà (dd/mm/yyyy)",
    "so_tb": "Số thuê bao",
}
"""The placeholders a template may use, `{key}`, with what each is filled with."""

SAMPLE_VALUES: dict[str, str] = {
    "ten": "Nguyễn Thị Thanh Hương",
    "qua": "Hộp đựng thực phẩm hút chân không hoặc Ô 2 khúc cầm tay",
    "cua_hang": "Cửa hàng MobiFone Lê Chân",
    "dia_chi": "Số 12 Lê Lợi, phường Máy Tơ, quận Ngô Quyền, Hải Phòng",
    "han": "31/03/2017",
    "so_tb": "0901234567",
}
"""Long but ordinary values, to preview a template while it is edited."""


class TemplateProblem(ValueError):
    """A template cannot be used; the message is one sentence for the user."""


# --------------------------------------------------------------------------- counting


def sms_encoding(text: str) -> str:
    """`GSM-7` when every character is in the GSM 03.38 alphabet or its extension, else
    `UCS-2`."""
    for ch in text:
        if ch not in GSM7_BASIC and ch not in GSM7_EXTENSION:
            return UCS2
    return GSM7


def _costs(text: str, encoding: str) -> list[int]:
    if encoding == GSM7:
        return [2 if ch in GSM7_EXTENSION else 1 for ch in text]
    return [2 if ord(ch) > 0xFFFF else 1 for ch in text]


def sms_length(text: str) -> int:
    """The length that counts: septets for GSM-7 (an extension character is 2), UTF-16 code
    units for UCS-2 (a character outside the BMP is 2)."""
    return sum(_costs(text, sms_encoding(text)))


def _split(text: str) -> tuple[str, list[tuple[int, int]]]:
    """The encoding and the parts as (start, end) indexes into `text`."""
    encoding = sms_encoding(text)
    costs = _costs(text, encoding)
    single, multi = _LIMITS[encoding]
    total = sum(costs)
    if total == 0:
        return encoding, []
    if total <= single:
        return encoding, [(0, len(text))]
    bounds: list[tuple[int, int]] = []
    start = used = 0
    for i, cost in enumerate(costs):
        # A two-unit character that would straddle the boundary starts the next part.
        if used + cost > multi:
            bounds.append((start, i))
            start, used = i, 0
        used += cost
    bounds.append((start, len(costs)))
    return encoding, bounds


def split_parts(text: str) -> tuple[str, ...]:
    """The text as the parts it is sent in (none for an empty text)."""
    _, bounds = _split(text)
    return tuple(text[a:b] for a, b in bounds)


def sms_parts(text: str) -> int:
    """How many SMS the text takes: GSM-7 one up to 160, else parts of 153; UCS-2 one up to
    70, else parts of 67; an extension character or a surrogate pair is never split, so it
    may need one part more than the plain division. An empty text takes none."""
    return len(_split(text)[1])


@dataclass(frozen=True)
class SmsCount:
    """What the screen shows under a message: encoding, length, parts, room left."""

    encoding: str  # `GSM-7` | `UCS-2`
    length: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    parts: int
    per_part: int  # 160 / 70 for a single SMS, 153 / 67 per part of a longer one
    left: int  # units still free in the last part before it needs one more

    @property
    def text(self) -> str:
        """`"142 ký tự · 1 tin (GSM-7, còn 18)"`."""
        encoding = "không dấu, GSM-7" if self.encoding == GSM7 else "có dấu, UCS-2"
        return (f"{self.length} ký tự · {self.parts} tin ({encoding}, mỗi tin {self.per_part}"
                f", còn {self.left})")


def sms_count(text: str) -> SmsCount:
    """Encoding, length, parts and the room left in the last part, in one pass."""
    encoding, bounds = _split(text)
    costs = _costs(text, encoding)
    single, multi = _LIMITS[encoding]
    per_part = single if len(bounds) <= 1 else multi
    last = sum(costs[bounds[-1][0]:bounds[-1][1]]) if bounds else 0
    return SmsCount(encoding, sum(costs), len(bounds), per_part, per_part - last)


# --------------------------------------------------------------------------- no diacritics

_ASCII_FOR: dict[int, str] = {
    ord(k): v
    for k, v in {
        "đ": "d", "Đ": "D", "Ð": "D", "ð": "d", "₫": "d",
        "“": '"', "”": '"', "„": '"', "‟": '"', "«": '"', "»": '"', "″": '"', "〃": '"',
        "‘": "'", "’": "'", "‚": "'", "‛": "'", "‹": "'", "›": "'", "′": "'", "`": "'",
        "´": "'", "ʼ": "'",
        "–": "-", "—": "-", "―": "-", "‐": "-", "‑": "-", "‒": "-", "−": "-", "⁃": "-",
        "…": "...", "•": "-", "·": ".", "‧": ".", "×": "x", "÷": "/",
        "©": "(c)", "®": "(R)", "\u2028": "\n", "\u2029": "\n", "\t": " ",
    }.items()
}
_GSM7_ALL = GSM7_BASIC | GSM7_EXTENSION


def _plain(ch: str) -> str:
    """A character the steps above left outside GSM 03.38, replaced by what a phone would
    show: spaces as a space, invisible formatting dropped, anything else as `?`."""
    category = unicodedata.category(ch)
    if category == "Zs":
        return " "
    if category in ("Cf", "Mn", "Mc", "Me"):
        return ""  # zero-width spaces, soft hyphens, BOMs, stray combining marks
    if category == "Cc":
        return " "
    return "?"


def strip_diacritics(text: str) -> str:
    """Vietnamese without diacritics, in the GSM 03.38 alphabet only (one SMS is 160).

    Tones and letter marks go (NFD, combining marks dropped), đ → d and Đ → D; typographic
    punctuation becomes plain: “ ” → ", ‘ ’ → ', – — → -, … → ..., no-break spaces → space;
    compatibility forms are unfolded (NFKD: ﬁ → fi, ² → 2, full-width letters); anything else
    outside the alphabet becomes `?` (a space for spaces, nothing for invisible characters).

    >>> strip_diacritics("Nguyễn Thị Đào – “quà” …")
    'Nguyen Thi Dao - "qua" ...'
    """
    if text.isascii() and "`" not in text and "\t" not in text:
        return "".join(ch if ch in _GSM7_ALL else _plain(ch) for ch in text)
    text = unicodedata.normalize("NFKD", text.translate(_ASCII_FOR)).translate(_ASCII_FOR)
    out: list[str] = []
    for ch in text:
        if unicodedata.combining(ch):
            continue
        out.append(ch if ch in _GSM7_ALL else _plain(ch))
    return "".join(out)


# --------------------------------------------------------------------------- templates

_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_FORMULA_START = ("=", "+", "-", "@")
_SPACES = re.compile(r"[ \t]{2,}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_AFTER_EMPTY = frozenset(" ,.;:!?)")


def _key(name: str) -> str:
    """`{ Tên }`, `{cửa hàng}`, `{CUA-HANG}` → `ten`, `cua_hang`."""
    return re.sub(r"[\s\-]+", "_", fold(name).strip())


def _placeholder_list() -> str:
    return ", ".join("{" + key + "}" for key in PLACEHOLDERS)


def check_template(template: str) -> tuple[str, ...]:
    """The placeholders the template uses, in order, each once.

    Raises:
        TemplateProblem: empty; a placeholder that does not exist (all of them named); a
            single `{` or `}` (a literal brace is written twice); or a start that a
            spreadsheet would take for a formula (`=`, `+`, `-`, `@`).
    """
    stripped = template.strip()
    if not stripped:
        raise TemplateProblem("Mẫu tin nhắn đang trống.")
    if stripped.startswith(_FORMULA_START):
        raise TemplateProblem(f"Mẫu tin không được bắt đầu bằng '{stripped[0]}' (bảng tính "
                              "sẽ hiểu là công thức); thêm chữ phía trước.")
    used: list[str] = []
    unknown: list[str] = []
    for match in _TOKEN.finditer(template):
        token = match.group(0)
        if token in ("{{", "}}"):
            continue
        if token in ("{", "}"):
            raise TemplateProblem(
                f"Mẫu tin có dấu '{token}' lẻ ở ký tự thứ {match.start() + 1}: chỗ điền viết "
                "trong cặp ngoặc, ví dụ {ten}; muốn in dấu ngoặc thì gõ hai lần ({{ hoặc }}).")
        key = _key(match.group(1))
        if key in PLACEHOLDERS:
            if key not in used:
                used.append(key)
        elif token not in unknown:
            unknown.append(token)
    if unknown:
        raise TemplateProblem(f"Mẫu tin có chỗ điền không có: {', '.join(unknown)}; chỉ dùng "
                              f"được {_placeholder_list()}.")
    return tuple(used)


def _clean_value(value: object) -> str:
    text = "" if value is None else str(value)
    text = _CONTROL.sub(" ", text).strip()
    # Imported text must not make the message start like a formula in the CSV.
    return text.lstrip("".join(_FORMULA_START)).strip()


def render_template(template: str, values: Mapping[str, object]) -> str:
    """The template with its placeholders filled, in NFC, spaces tidied.

    A placeholder without a value (or with an empty one) disappears with the space before it
    when a space or punctuation follows ("Quý khách {ten}, ..." → "Quý khách, ...").

    Raises:
        TemplateProblem: as `check_template`.
    """
    check_template(template)
    out: list[str] = []
    pos = 0
    for match in _TOKEN.finditer(template):
        out.append(template[pos:match.start()])
        pos = match.end()
        token = match.group(0)
        if token in ("{{", "}}"):
            out.append(token[0])
            continue
        value = _clean_value(values.get(_key(match.group(1))))
        if value:
            out.append(value)
            continue
        following = template[pos:pos + 1]
        if (not following or following in _AFTER_EMPTY) and out and out[-1].endswith(" "):
            out[-1] = out[-1][:-1]
    out.append(template[pos:])
    text = _SPACES.sub(" ", "".join(out)).strip()
    return unicodedata.normalize("NFC", text)


def make_message(template: str, values: Mapping[str, object], *,
                 diacritics: bool = True) -> str:
    """The SMS for one customer: rendered, and without diacritics when asked."""
    text = render_template(template, values)
    return text if diacritics else strip_diacritics(text)


# --------------------------------------------------------------------------- defaults


@dataclass(frozen=True)
class SmsTemplates:
    """A programme's SMS texts: the group 1 notice, the group 2 invitation, the deadline."""

    notice: str  # group 1, home visit: MobiFone will bring the gift
    invitation: str  # group 2, store pick-up: come to the store for the gift
    deadline_days: int  # {han} = the day the list is made + this


@cache
def default_templates() -> SmsTemplates:
    """The texts of `resources/templates/sms.toml`."""
    with resource_file("templates", "sms.toml").open("rb") as fh:
        data = tomllib.load(fh)
    return SmsTemplates(notice=str(data["notice"]).strip(),
                        invitation=str(data["invitation"]).strip(),
                        deadline_days=int(data["deadline_days"]))
