"""SMS texts: GSM 03.38 and UCS-2 part counting on known strings, Vietnamese without
diacritics, and the templates."""

from __future__ import annotations

import unicodedata

import pytest

from mbfcare.domain.sms import (
    GSM7,
    GSM7_BASIC,
    GSM7_EXTENSION,
    PLACEHOLDERS,
    SAMPLE_VALUES,
    UCS2,
    TemplateProblem,
    check_template,
    default_templates,
    make_message,
    render_template,
    sms_count,
    sms_encoding,
    sms_length,
    sms_parts,
    split_parts,
    strip_diacritics,
)

VIET = "ạ"  # one UTF-16 code unit, not in GSM 03.38


def test_the_alphabets_have_their_size() -> None:
    # 128 codes of the default alphabet minus the escape; ten in the extension table.
    assert len(GSM7_BASIC) == 127
    assert len(GSM7_EXTENSION) == 10
    assert not GSM7_BASIC & GSM7_EXTENSION
    assert {"@", "£", "Δ", "_", "¤", "§", "à", "\n", "\r"} <= GSM7_BASIC
    assert {"`", "\t", "ç", "ơ", "đ"}.isdisjoint(GSM7_BASIC | GSM7_EXTENSION)


@pytest.mark.parametrize(("text", "encoding", "length", "parts"), [
    ("", GSM7, 0, 0),
    ("a", GSM7, 1, 1),
    ("a" * 160, GSM7, 160, 1),
    ("a" * 161, GSM7, 161, 2),
    ("a" * 306, GSM7, 306, 2),
    ("a" * 307, GSM7, 307, 3),
    ("€", GSM7, 2, 1),
    ("a" * 158 + "€", GSM7, 160, 1),
    ("a" * 159 + "€", GSM7, 161, 2),
    ("{[x]}", GSM7, 9, 1),
    (VIET * 70, UCS2, 70, 1),
    (VIET * 71, UCS2, 71, 2),
    (VIET * 134, UCS2, 134, 2),
    (VIET * 135, UCS2, 135, 3),
    ("a" * 159 + VIET, UCS2, 160, 3),  # one Vietnamese letter makes the whole text UCS-2
    ("😀", UCS2, 2, 1),
    ("a" * 68 + "😀", UCS2, 70, 1),
    ("a" * 69 + "😀", UCS2, 71, 2),
])
def test_known_strings(text: str, encoding: str, length: int, parts: int) -> None:
    assert sms_encoding(text) == encoding
    assert sms_length(text) == length
    assert sms_parts(text) == parts
    count = sms_count(text)
    assert (count.encoding, count.length, count.parts) == (encoding, length, parts)


def test_an_extension_character_at_a_part_boundary_starts_the_next_part() -> None:
    # 306 septets would be two parts of 153, but € cannot be split after septet 152.
    text = "a" * 152 + "€" + "a" * 152
    assert sms_length(text) == 306
    assert sms_parts(text) == 3
    first, second, third = split_parts(text)
    assert first == "a" * 152
    assert second == "€" + "a" * 151
    assert third == "a"
    # Where it fits, it stays: 151 + 2 = 153.
    assert split_parts("a" * 151 + "€" + "a" * 10)[0] == "a" * 151 + "€"


def test_a_surrogate_pair_at_a_part_boundary_starts_the_next_part() -> None:
    text = VIET * 66 + "😀" + VIET * 66
    assert sms_length(text) == 134
    assert sms_parts(text) == 3
    assert split_parts(text)[1].startswith("😀")


def test_count_reports_room_left() -> None:
    assert sms_count("a" * 150).left == 10
    assert sms_count("a" * 150).per_part == 160
    two = sms_count("a" * 200)
    assert (two.per_part, two.left) == (153, 153 - 47)
    viet = sms_count(VIET * 71)
    assert (viet.encoding, viet.per_part, viet.left) == (UCS2, 67, 67 - 4)
    assert "2 tin" in viet.text and "UCS-2" in viet.text


def test_strip_diacritics_the_vietnamese_way() -> None:
    text = strip_diacritics("Nguyễn Thị Đào – “quà” …")
    assert text == 'Nguyen Thi Dao - "qua" ...'
    assert sms_encoding(text) == GSM7


@pytest.mark.parametrize(("text", "plain"), [
    ("Đường Trần Hưng Đạo", "Duong Tran Hung Dao"),
    ("ươ ƯỚ ằ Ặ ỹ Ỵ", "uo UO a A y Y"),
    ("700.000₫", "700.000d"),
    ("‘Chào’ — bạn", "'Chao' - ban"),
    ("a\u00a0b\u202fc", "a b c"),
    ("zero\u200bwidth\u00adsoft", "zerowidthsoft"),
    ("tab\there `tick`", "tab here 'tick'"),
    ("ﬁ ² Ａ", "fi 2 A"),
    ("emoji 😀 漢", "emoji ? ?"),
    ("£5 @ 10% [ok] €", "£5 @ 10% [ok] €"),
])
def test_strip_diacritics_leaves_only_gsm(text: str, plain: str) -> None:
    result = strip_diacritics(text)
    assert result == plain
    assert sms_encoding(result) == GSM7


def test_strip_diacritics_of_decomposed_text() -> None:
    nfd = unicodedata.normalize("NFD", "Hồng Bàng")
    assert strip_diacritics(nfd) == "Hong Bang"


def test_render_fills_placeholders_in_nfc() -> None:
    nfd_name = unicodedata.normalize("NFD", "Lê Văn Cường")
    text = render_template("Kính gửi {ten}: quà {qua} tại {cua_hang}, hạn {han}. TB {so_tb}",
                           {"ten": nfd_name, "qua": "Ô 2 khúc", "cua_hang": "CH Lê Chân",
                            "han": "31/03/2017", "so_tb": "0901000001"})
    assert text == ("Kính gửi Lê Văn Cường: quà Ô 2 khúc tại CH Lê Chân, hạn 31/03/2017. "
                    "TB 0901000001")
    assert unicodedata.is_normalized("NFC", text)


def test_render_accepts_placeholders_typed_with_diacritics_and_case() -> None:
    values = {"ten": "An", "cua_hang": "CH", "dia_chi": "12 Lê Lợi"}
    assert render_template("{Tên} {cửa hàng} {ĐỊA-CHỈ}", values) == "An CH 12 Lê Lợi"


def test_render_tidies_empty_values_and_keeps_literal_braces() -> None:
    assert render_template("Quý khách {ten}, mời {{nhận}} quà.", {"ten": ""}) == \
        "Quý khách, mời {nhận} quà."
    assert render_template("Chào {ten} bạn", {}) == "Chào bạn"
    assert render_template("  Hai   khoảng  {ten} ", {"ten": "An"}) == "Hai khoảng An"


def test_render_makes_imported_values_safe() -> None:
    assert render_template("{ten} ơi", {"ten": "=HYPERLINK(x)\n"}) == "HYPERLINK(x) ơi"


def test_unknown_placeholders_are_named() -> None:
    with pytest.raises(TemplateProblem) as caught:
        render_template("Chào {ten}, {abc} và {ngay_het_han} {abc}", {"ten": "An"})
    message = str(caught.value)
    assert "{abc}" in message and "{ngay_het_han}" in message
    assert message.count("{abc}") == 1
    assert "{cua_hang}" in message  # says what may be used


@pytest.mark.parametrize("template", ["", "   ", "Chào {ten", "Chào ten}", "=1+1 {ten}",
                                      "+84 {ten}", "@{ten}"])
def test_unusable_templates_are_refused(template: str) -> None:
    with pytest.raises(TemplateProblem):
        check_template(template)


def test_check_template_lists_the_placeholders_used() -> None:
    assert check_template("{han} {ten} {han} {{x}}") == ("han", "ten")


def test_default_templates_are_usable_and_derive_pure_gsm() -> None:
    defaults = default_templates()
    assert defaults.deadline_days > 0
    for template in (defaults.notice, defaults.invitation):
        used = check_template(template)
        assert {"ten", "han"} <= set(used)
        with_marks = make_message(template, SAMPLE_VALUES)
        assert sms_encoding(with_marks) == UCS2
        plain = make_message(template, SAMPLE_VALUES, diacritics=False)
        assert sms_encoding(plain) == GSM7
        assert plain.startswith("MobiFone tran trong")
    assert "{qua}" in defaults.notice
    assert "{cua_hang}" in defaults.invitation
    # An ordinary name fits one SMS without diacritics.
    values = {**SAMPLE_VALUES, "ten": "Nguyễn Văn An", "qua": "Balo kéo du lịch"}
    for template in (defaults.notice, defaults.invitation):
        assert sms_parts(make_message(template, values, diacritics=False)) == 1
    assert set(PLACEHOLDERS) == {"ten", "qua", "cua_hang", "dia_chi", "han", "so_tb"}
