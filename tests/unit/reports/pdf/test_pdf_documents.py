"""The five printed documents drawn from plain values: text with its diacritics (NFC), page
counts, embedded font subsets, the QR payload drawn, and the editable wording."""

from __future__ import annotations

import datetime as dt
import io
import unicodedata

import pytest
from reportlab.pdfgen.canvas import Canvas

from mbfcare.domain.codes import check_code, entry_code, parse_scan
from mbfcare.domain.survey import load_survey
from mbfcare.reports.pdf.data import (
    Customer,
    FormSettingsProblem,
    InfoFormData,
    InvitationData,
    ListLine,
    Printed,
    ReceiptData,
    SignatureSection,
    SurveyData,
    load_form_settings,
)
from mbfcare.reports.pdf.forms import render_info_forms, render_surveys
from mbfcare.reports.pdf.invitations import render_invitations
from mbfcare.reports.pdf.layout import date_line, draw_qr, qr_matrix
from mbfcare.reports.pdf.receipts import render_receipts
from mbfcare.reports.pdf.signature_list import render_signature_lists
from tests.unit.reports.pdf.pdf_helpers import assert_embedded_liberation, page_texts

SETTINGS = load_form_settings()
PROGRAMME = "Chăm sóc khách hàng năm 2017"
# Typed decomposed on purpose: the PDF must carry it composed.
NFD_NAME = unicodedata.normalize("NFD", "Nguyễn Thị Ánh Tuyết")
NAME = "Nguyễn Thị Ánh Tuyết"
STORE = "Cửa hàng MobiFone Lê Chân"


def _printed(kind: str, case_id: int, token: str = "K7Q2M9") -> Printed:
    return Printed(100 + case_id, entry_code(kind, 1, case_id, token), check_code(case_id, token))


def _customer(name: str = NFD_NAME, *, store: str = STORE) -> Customer:
    return Customer(name=name, msisdn="0902000001", address="Số 12 Lê Lợi, quận Lê Chân",
                    id_number="031080001234", birth_date=None, province="Hải Phòng",
                    district="Lê Chân", store=store)


def _pdf(render: object, *args: object, **kwargs: object) -> tuple[bytes, object]:
    out = io.BytesIO()
    rendered = render(*args, out, **kwargs)  # type: ignore[operator]
    return out.getvalue(), rendered


def test_date_line_follows_the_decree() -> None:
    assert date_line("Hải Phòng", dt.date(2017, 9, 5)) == "Hải Phòng, ngày 05 tháng 9 năm 2017"
    assert date_line("Hải Phòng", dt.date(2017, 2, 15)) == "Hải Phòng, ngày 15 tháng 02 năm 2017"
    assert date_line("Quảng Ninh", None).startswith("Quảng Ninh, ngày …")


def test_qr_is_drawn_from_the_payload() -> None:
    payload = entry_code("receipt", 1, 4821, "K7Q2M9")
    matrix = qr_matrix(payload)
    assert len(matrix) == 25 and all(len(row) == 25 for row in matrix)  # version 2, level M
    canvas = Canvas(io.BytesIO(), pageCompression=0)
    drawn = draw_qr(canvas, payload, 100, 100, 72)
    canvas.showPage()
    assert (drawn.payload, drawn.modules, drawn.size) == (payload, 25, 72)
    runs = sum(1 for row in matrix for i, dark in enumerate(row)
               if dark and (i == 0 or not row[i - 1]))
    data = canvas.getpdfdata()
    assert data.count(b" re\n") == runs  # one rectangle per run of dark modules ...
    assert data.count(b" re\nf") == 1  # ... filled as one path


def test_receipts_one_page_each_with_names_codes_and_fonts() -> None:
    waiting = ReceiptData(_printed("receipt", 7), _customer(), PROGRAMME, 1, "03/2017", 2,
                          "store", "Quà loại 2", ("Hộp đựng thực phẩm hút chân không",
                                                  "Ô 2 khúc cầm tay"))
    given = ReceiptData(_printed("receipt", 8, "AB12CD"), _customer("Hoàng Văn Giang",
                                                                    store=""),
                        PROGRAMME, 1, "03/2017", 1, "visit", "Quà loại 1",
                        ("Balo kéo du lịch",), item_given="Balo kéo du lịch",
                        given_on=dt.date(2017, 9, 5), given_by="Trần Thị Hà")
    pdf, rendered = _pdf(render_receipts, [waiting, given], settings=SETTINGS)
    assert rendered.pages == 2 and rendered.documents == 2  # type: ignore[attr-defined]
    assert rendered.payloads == (waiting.printed.code, given.printed.code)  # type: ignore[attr-defined]
    first, second = page_texts(pdf)
    for text in (first, second):
        assert "TỔNG CÔNG TY VIỄN THÔNG MOBIFONE" in text
        assert "CÔNG TY DỊCH VỤ MOBIFONE KHU VỰC 5" in text
        assert "MOBIFONE THÀNH PHỐ HẢI PHÒNG" in text
        assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in text
        assert "Độc lập - Tự do - Hạnh phúc" in text
        assert "BIÊN BẢN GIAO NHẬN QUÀ TẶNG" in text
        assert "(Ký, ghi rõ họ tên)" in text
    assert NAME in first and "Số: 107/BB-GNQ" in first and "7-K7Q2M9" in first
    assert "Hộp đựng thực phẩm hút chân không" in first and "Ô 2 khúc cầm tay" in first
    assert "0902 000 001" in first and "031080001234" in first and STORE in first
    assert "Hải Phòng, ngày 05 tháng 9 năm 2017" in second
    assert "Balo kéo du lịch" in second and "Trần Thị Hà" in second
    assert "Hoàng Văn Giang" in second and "8-AB12CD" in second
    assert_embedded_liberation(pdf)
    # what the QR carries is a code the desk understands
    scanned = parse_scan(rendered.payloads[0])  # type: ignore[attr-defined]
    assert (scanned.case_id, scanned.token) == (7, "K7Q2M9")  # type: ignore[union-attr]


def test_signature_list_repeats_headers_and_numbers_pages_per_list() -> None:
    lines = [ListLine(f"{NAME} {i}", f"09020000{i:02d}", "Số 12 ngõ 34 đường Lê Lợi, phường An "
                      "Biên, quận Lê Chân", "Quà loại 2",
                      dt.date(2017, 9, 5) if i % 3 == 0 else None) for i in range(1, 40)]
    big = SignatureSection(7, PROGRAMME, 1, "03/2017", "Hải Phòng", STORE, "store", lines,
                           dt.date(2017, 3, 10))
    small = SignatureSection(7, PROGRAMME, 1, "03/2017", "Hải Phòng",
                             "Quận/huyện Hồng Bàng – MobiFone đến tặng tại nhà", "visit",
                             lines[:2], dt.date(2017, 3, 10))
    pdf, rendered = _pdf(render_signature_lists, [big, small], settings=SETTINGS)
    texts = page_texts(pdf)
    assert rendered.pages == len(texts) >= 3  # type: ignore[attr-defined]
    assert rendered.documents == 2  # type: ignore[attr-defined]
    big_pages = len(texts) - 1
    for number, text in enumerate(texts[:big_pages], 1):
        assert f"Trang {number}/{big_pages}" in text
        for header in ("STT", "Họ tên", "Số thuê bao", "Địa chỉ", "Quà", "Ngày nhận",
                       "Ký nhận"):
            assert header in text  # the header row on every page
    assert "Trang 1/1" in texts[-1] and "Hồng Bàng" in texts[-1]
    assert "DANH SÁCH KHÁCH HÀNG KÝ NHẬN QUÀ" in texts[0] and "Số: 7/DS-KNQ" in texts[0]
    assert "DANH SÁCH KHÁCH HÀNG KÝ NHẬN QUÀ" not in texts[1]  # only on a list's first page
    joined = "\n".join(texts[:big_pages])
    assert all(f"{NAME} {i}" in joined for i in range(1, 40))
    assert "0902 000 039" in joined and "05/09/2017" in joined
    assert "Tổng cộng: 39 khách hàng" in texts[big_pages - 1]
    assert "NGƯỜI LẬP DANH SÁCH" in texts[big_pages - 1]
    assert "Tổng cộng: 02 khách hàng" in texts[-1]
    assert_embedded_liberation(pdf)


def test_survey_follows_the_definition_with_boxes_and_blank_forms() -> None:
    definition = load_survey()
    filled = SurveyData(_printed("survey", 9), _customer(), PROGRAMME, 1, "Hải Phòng")
    blank = SurveyData(None, None, PROGRAMME, None, "Hải Phòng")
    pdf, rendered = _pdf(render_surveys, [filled, blank], definition=definition,
                         settings=SETTINGS)
    texts = page_texts(pdf)
    assert rendered.documents == 2 and rendered.pages == len(texts) == 2  # type: ignore[attr-defined]
    assert rendered.payloads == (filled.printed.code,)  # type: ignore[attr-defined,union-attr]
    first = texts[0]
    assert "PHIẾU KHẢO SÁT Ý KIẾN KHÁCH HÀNG" in first and NAME in first
    positions = [first.find(f"Câu {n}.") for n in range(1, len(definition.questions) + 1)]
    assert all(p >= 0 for p in positions) and positions == sorted(positions)
    assert "Rất không hài lòng" in first and "Rất hài lòng" in first
    assert "Gọi điện" in first and "Dịch vụ khác" in first and "9-K7Q2M9" in first
    assert NAME not in texts[1] and "Mã kiểm tra" not in texts[1]
    assert_embedded_liberation(pdf)


def test_info_form_has_boxes_for_what_to_collect() -> None:
    form = InfoFormData(_printed("info_form", 11), _customer(), ("số CCCD", "ngày sinh"),
                        PROGRAMME, 1, "Hải Phòng")
    pdf, rendered = _pdf(render_info_forms, [form], settings=SETTINGS)
    (text,) = page_texts(pdf)
    assert rendered.payloads == (form.printed.code,)  # type: ignore[attr-defined,union-attr]
    for words in ("PHIẾU THU THẬP THÔNG TIN KHÁCH HÀNG", "Họ và tên", "Số CCCD", "Ngày sinh",
                  "Địa chỉ thường trú", "Cần bổ sung: số CCCD, ngày sinh", "0902 000 001",
                  f"(Trên hệ thống: {NAME})", "NHÂN VIÊN THU THẬP", "11-K7Q2M9"):
        assert words in text, words
    assert_embedded_liberation(pdf)


def test_invitation_names_the_store_its_address_and_hours() -> None:
    settings = load_form_settings({"stores": {"info": {STORE: {
        "address": "Số 1 Tô Hiệu, quận Lê Chân", "hours": "Từ 8 giờ đến 20 giờ"}}}})
    invitation = InvitationData(_printed("invitation", 12), _customer(), PROGRAMME, 1,
                                "Quà loại 2", ("Hộp đựng thực phẩm hút chân không",
                                               "Ô 2 khúc cầm tay"),
                                settings.store(STORE, "Lê Chân", "Hải Phòng"),
                                dt.date(2017, 3, 10))
    pdf, rendered = _pdf(render_invitations, [invitation], settings=settings)
    (text,) = page_texts(pdf)
    for words in ("GIẤY MỜI", f"Ông/Bà {NAME}", STORE, "Số 1 Tô Hiệu, quận Lê Chân",
                  "Từ 8 giờ đến 20 giờ", "Số: 112/GM-NQ", "Hải Phòng, ngày 10 tháng 3 năm 2017",
                  "TM. MOBIFONE THÀNH PHỐ HẢI PHÒNG", "12-K7Q2M9"):
        assert words in text, words
    assert rendered.payloads == (invitation.printed.code,)  # type: ignore[attr-defined]
    # a store not listed: its district, and the default hours
    other = SETTINGS.store("Cửa hàng MobiFone Hải An", "Hải An", "Hải Phòng")
    assert other.address == "Quận/huyện Hải An, Hải Phòng"
    assert other.hours == SETTINGS.default_hours
    assert_embedded_liberation(pdf)


def test_wording_comes_from_the_template_and_overrides() -> None:
    assert SETTINGS.organisation == ("TỔNG CÔNG TY VIỄN THÔNG MOBIFONE",
                                     "CÔNG TY DỊCH VỤ MOBIFONE KHU VỰC 5")
    assert SETTINGS.branch("Quảng Ninh") == "MOBIFONE TỈNH QUẢNG NINH"
    assert SETTINGS.branch("Nam Định") == "MOBIFONE NAM ĐỊNH"  # the default pattern
    assert SETTINGS.place("Hải Phòng") == "Hải Phòng"
    changed = load_form_settings({"branches": {"Hải Phòng": "CHI NHÁNH HẢI PHÒNG"},
                                  "places": {"Quảng Ninh": "Hạ Long"},
                                  "numbers": {"receipt": "BB-HP"}})
    assert changed.branch("Hải Phòng") == "CHI NHÁNH HẢI PHÒNG"
    assert changed.branch("Quảng Ninh") == "MOBIFONE TỈNH QUẢNG NINH"  # the rest kept
    assert changed.place("Quảng Ninh") == "Hạ Long"
    assert changed.numbers["receipt"] == "BB-HP"
    assert changed.numbers["invitation"] == "GM-NQ"
    with pytest.raises(FormSettingsProblem, match="khóa lạ"):
        load_form_settings({"colour": "red"})
    with pytest.raises(FormSettingsProblem, match="khóa lạ trong \\[titles\\]"):
        load_form_settings({"titles": {"boss": "GIÁM ĐỐC"}})
    with pytest.raises(FormSettingsProblem, match="chuỗi chữ"):
        load_form_settings({"numbers": {"receipt": 5}})
