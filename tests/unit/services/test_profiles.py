"""Profile standardisation: the collection form's checks, the data check step recorded with
it, corrections, the iCRM upload file, and the package advice."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from mbfcare.domain.actors import Actor
from mbfcare.errors import NotFoundError, RuleError, UsageError, ValidationError
from mbfcare.models import AuditEntry, CareCase, CareStep, ProfileCollection
from mbfcare.services import audit, stock
from mbfcare.services import care_work as cw
from mbfcare.services import profiles as pr
from tests.care_data import GROUP1, GROUP2, STORE, seed_listed

KT = Actor("Kiểm thử")  # who exports in these tests (an administrator)

LAN = Actor("Lan", "admin")
HA = Actor("Hà", "clerk")
TODAY = cw.local_today()
# Subscribers whose extract says "not standardised" (no id number, no date of birth).
DUNG = next(n for n, v in GROUP1.items() if not v[3])  # group 1, home visit: 0901000002
G2_TODO = sorted(n for n, v in GROUP2.items() if not v[3])  # group 2, not standardised
G2_DONE = sorted(n for n, v in GROUP2.items() if v[3])
AN = "0901000001"  # group 1, standardised


@pytest.fixture
def listed(factory: sessionmaker[Session], programme_id: int) -> sessionmaker[Session]:
    return seed_listed(factory, programme_id)


def _case(factory: sessionmaker[Session], msisdn: str) -> CareCase:
    with factory() as session:
        case = cw.find_case(session, None, msisdn)
        session.expunge(case)
        return case


def _collections(factory: sessionmaker[Session]) -> list[ProfileCollection]:
    with factory() as session:
        rows = list(session.scalars(select(ProfileCollection).order_by(ProfileCollection.id)))
        session.expunge_all()
        return rows


def _steps(factory: sessionmaker[Session], case_id: int) -> dict[str, str | None]:
    with factory() as session:
        return {s.step: s.value for s in session.scalars(
            select(CareStep).where(CareStep.care_case_id == case_id))}


def _record(factory: sessionmaker[Session], case: int | str = DUNG, *, actor: Actor = LAN,
            name: str = "phạm thị dung", id_text: str = "031 180 001 234",
            birth: str = "05/09/1980", address: str = "12 Lê Lợi, Lê Chân, Hải Phòng",
            **kw: object) -> pr.ProfileResult:
    return pr.record_profile(factory, case, name=name, id_text=id_text, birth_text=birth,
                             address=address, actor=actor, **kw)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- recording


def test_a_valid_cccd_is_stored_with_the_data_check(listed: sessionmaker[Session]) -> None:
    before = pr.profile_state(listed, _case(listed, DUNG).id)
    assert (before.state, before.missing) == ("to_collect", ("số CCCD", "ngày sinh"))
    assert before.text == "Chưa chuẩn hóa thông tin: cần thu thập số CCCD, ngày sinh."

    result = _record(listed, "84" + DUNG[1:], actor=HA)

    assert (result.changed, result.replaced, result.step_recorded) == (True, False, True)
    assert result.name == "Phạm Thị Dung" and result.id_kind == "cccd"
    assert result.text == ("Đã lưu thông tin thu thập của Phạm Thị Dung (0901 000 002) ngày "
                           f"{TODAY:%d/%m/%Y}; đã ghi bước kiểm tra dữ liệu.")
    [row] = _collections(listed)
    assert (row.name, row.id_kind, row.id_number, row.birth_date, row.address) == (
        "Phạm Thị Dung", "cccd", "031180001234", dt.date(1980, 9, 5),
        "12 Lê Lợi, Lê Chân, Hải Phòng")
    assert (row.collected_on, row.collected_by, row.exported_at) == (TODAY, "Hà", None)
    case = _case(listed, DUNG)
    assert case.data_check_on == TODAY
    assert _steps(listed, case.id) == {"data_check": "collected"}
    entries = audit.entries(listed, programme_id=case.programme_id)
    assert [e.action for e in entries[:2]] == ["record_profile", "record_step"]
    # The append-only log keeps the ID number masked (Law 91/2025/QH15): it cannot be purged.
    assert entries[0].after is not None and entries[0].after["id_number"] == "0311******34"
    assert entries[0].user == "Hà"

    state = pr.profile_state(listed, case.id)
    assert state.state == "collected" and state.missing == ()
    assert state.collected is not None and state.collected.id_kind_label == "CCCD"
    assert state.text == (f"Đã thu thập thông tin ngày {TODAY:%d/%m/%Y} bởi Hà; chờ cập nhật "
                          "lên iCRM.")
    # The desk no longer asks for the profile.
    assert cw.desk_lookup(listed, DUNG, actor=Actor("test")).profile_missing == ()
    assert pr.profile_for(listed, case.id) == state.collected


def test_a_cmnd_with_nine_digits_is_accepted(listed: sessionmaker[Session]) -> None:
    case = _case(listed, G2_TODO[0])
    result = _record(listed, case.id, name="TRẦN VĂN BÌNH", id_text="012.345.678",
                     birth="1/2/1975")
    assert result.id_kind == "cmnd" and result.name == "Trần Văn Bình"
    [row] = _collections(listed)
    assert (row.id_kind, row.id_number, row.birth_date) == ("cmnd", "012345678",
                                                            dt.date(1975, 2, 1))


@pytest.mark.parametrize(("id_text", "birth", "field", "sentence"), [
    ("03118000123", "05/09/1980", "id_number",
     "Số CCCD phải có 12 chữ số (đã nhập 11)."),
    ("99918000123 4", "05/09/1980", "id_number",
     "Mã tỉnh 999 ở đầu số CCCD không tồn tại."),
    ("12345678", "05/09/1980", "id_number",
     "Số CMND phải có 9 chữ số, số CCCD phải có 12 chữ số (đã nhập 8)."),
    ("031180001234", "05/09/1985", "id_number",
     "Số CCCD ghi năm sinh 1980 (80), nhưng ngày sinh là 05/09/1985."),
    ("031280001234", "05/09/1980", "id_number",
     "Chữ số thứ 4 của số CCCD là 2, tức sinh trong các năm 2000–2099, nhưng ngày sinh là "
     "05/09/1980."),
    ("031180001234", "1980", "birth_date",
     "Ngày sinh phải có đủ ngày, tháng, năm (nhập ngày/tháng/năm, ví dụ 05/09/1980)."),
])
def test_a_wrong_number_or_birth_is_refused_and_nothing_changes(
        listed: sessionmaker[Session], id_text: str, birth: str, field: str,
        sentence: str) -> None:
    with pytest.raises(pr.ProfileProblem) as caught:
        _record(listed, id_text=id_text, birth=birth)
    assert caught.value.problems == {field: sentence}
    assert str(caught.value) == sentence
    assert isinstance(caught.value, ValidationError) and caught.value.exit_code == 2
    assert _collections(listed) == []
    assert _case(listed, DUNG).data_check_on is None


def test_every_wrong_field_is_named_and_the_message_is_the_first(
        listed: sessionmaker[Session]) -> None:
    with pytest.raises(pr.ProfileProblem) as caught:
        _record(listed, name="An", id_text="", birth="", address="")
    assert list(caught.value.problems) == ["name", "id_number", "birth_date", "address"]
    assert str(caught.value) == "Họ tên phải có ít nhất hai chữ (họ và tên)."
    assert caught.value.problems["address"] == "Chưa nhập địa chỉ."


def test_a_refused_data_check_refuses_the_whole_collection(
        listed: sessionmaker[Session]) -> None:
    # Group 1: the data check comes before the visit; one after it is refused, with nothing
    # stored.
    stock.move_stock(listed, "receive", "balo-keo", 1, actor=LAN)
    visit = TODAY - dt.timedelta(days=10)
    cw.record_handover(listed, DUNG, actor=LAN, on=visit)
    with pytest.raises(RuleError, match="kiểm tra dữ liệu phải làm trước khi đến tặng quà"):
        _record(listed, on=TODAY - dt.timedelta(days=5))
    assert _collections(listed) == []
    assert _case(listed, DUNG).data_check_on is None
    # Dated the day of the visit (the form filled in there), it is accepted.
    assert _record(listed, on=visit).step_recorded


def test_the_step_and_the_collection_are_one_transaction(
        listed: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch) -> None:
    real = audit.record

    def failing(session: Session, **kw: object) -> AuditEntry:
        if kw["action"] == "record_profile":
            raise RuntimeError("disk gone")
        return real(session, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(audit, "record", failing)
    with pytest.raises(RuntimeError):
        _record(listed)
    case = _case(listed, DUNG)
    assert case.data_check_on is None
    assert _steps(listed, case.id) == {}
    assert _collections(listed) == []


def test_a_data_check_already_recorded_is_kept(listed: sessionmaker[Session]) -> None:
    earlier = TODAY - dt.timedelta(days=3)
    cw.record_step(listed, DUNG, "data_check", actor=LAN, on=earlier)
    result = _record(listed)
    assert (result.changed, result.step_recorded) == (True, False)
    assert _case(listed, DUNG).data_check_on == earlier


def test_future_date_and_unknown_case_are_refused(listed: sessionmaker[Session]) -> None:
    with pytest.raises(UsageError, match="chưa tới"):
        _record(listed, on=TODAY + dt.timedelta(days=1))
    with pytest.raises(NotFoundError):
        _record(listed, 99999)
    with pytest.raises(RuleError, match=r"Chỉ xem|không được ghi"):
        _record(listed, actor=Actor("Xem", "viewer"))


def test_replacing_needs_the_right_to_correct_and_a_reason(
        listed: sessionmaker[Session], tmp_path: Path) -> None:
    _record(listed, actor=HA)
    pr.export_profiles(listed, tmp_path / "icrm.xlsx", None, actor=KT)
    assert _collections(listed)[0].exported_at is not None

    # The same values again change nothing, whoever types them.
    again = _record(listed, actor=HA)
    assert (again.changed, again.step_recorded) == (False, False)
    assert again.text == "Thông tin của Phạm Thị Dung (0901 000 002) đã có sẵn, không thay đổi."

    with pytest.raises(RuleError, match="Giao dịch viên không được hủy hoặc sửa"):
        _record(listed, actor=HA, birth="06/09/1980", reason="gõ nhầm")
    with pytest.raises(UsageError, match="sửa lại cần ghi lý do"):
        _record(listed, actor=LAN, birth="06/09/1980")
    fixed = _record(listed, actor=LAN, birth="06/09/1980", reason="gõ nhầm ngày sinh")
    assert (fixed.changed, fixed.replaced, fixed.step_recorded) == (True, True, False)
    assert fixed.text.startswith("Đã sửa thông tin thu thập của Phạm Thị Dung")
    [row] = _collections(listed)
    assert row.birth_date == dt.date(1980, 9, 6)
    assert row.exported_at is None  # goes out again with the next upload
    assert row.collected_by == "Lan"
    entry = audit.entries(listed, entity="profile")[0]
    assert (entry.action, entry.reason) == ("correct_profile", "gõ nhầm ngày sinh")
    assert entry.before is not None and entry.after is not None
    # The log keeps that the birth date was corrected, not the dates themselves.
    assert (entry.before["birth_date"], entry.after["birth_date"]) == ("(đã ẩn)", "(đã ẩn)")


def test_personal_data_never_reaches_the_log(listed: sessionmaker[Session],
                                             caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG", logger="mbfcare")
    # The command line's log set-up (an earlier test may have run it) stops propagation to
    # the root logger, where caplog listens; listen on the package's logger itself.
    package_logger = logging.getLogger("mbfcare")
    package_logger.addHandler(caplog.handler)
    try:
        _record(listed)
    finally:
        package_logger.removeHandler(caplog.handler)
    text = caplog.text
    assert "0901***002" in text
    for secret in ("0901000002", "031180001234", "Dung", "1980"):
        assert secret not in text


def test_profile_state_of_a_standardised_subscriber(listed: sessionmaker[Session]) -> None:
    state = pr.profile_state(listed, _case(listed, AN).id)
    assert (state.state, state.missing, state.collected) == ("standardised", (), None)
    assert state.extract_id_number == "031080001234"
    assert state.offers == ("MAX90", "C120")
    assert state.text == "Thông tin đã chuẩn hóa trên iCRM."
    assert pr.profile_for(listed, state.case_id) is None


# --------------------------------------------------------------------------- export


def _collect_three(factory: sessionmaker[Session]) -> None:
    _record(factory)
    _record(factory, G2_TODO[0], name="Trần Văn Bình", id_text="012345678", birth="01/02/1975",
            address="=HYPERLINK(\"http://x\")")
    _record(factory, G2_TODO[1], name="Lê Thị Cúc", id_text="001190000007",
            birth="07/07/1990", address="-5 Trần Phú, Hà Nội")


def test_export_xlsx_keeps_numbers_as_text_and_dates_as_dates(
        listed: sessionmaker[Session], tmp_path: Path) -> None:
    _collect_three(listed)
    out = tmp_path / "icrm.xlsx"
    result = pr.export_profiles(listed, out, actor=KT)
    assert (result.rows, result.format, result.only_new) == (3, "xlsx", False)
    assert result.text == f"Đã xuất 3 hồ sơ thu thập để cập nhật iCRM: {out}."
    ws = openpyxl.load_workbook(out).active
    assert ws is not None
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0] == pr.EXPORT_HEADERS
    by_number = {r[0]: r for r in rows[1:]}
    assert set(by_number) == {DUNG, G2_TODO[0], G2_TODO[1]}
    binh = by_number[G2_TODO[0]]
    assert binh[1:4] == ("Trần Văn Bình", "CMND", "012345678")  # leading zero kept
    assert binh[4] == dt.datetime(1975, 2, 1)
    assert binh[6] == dt.datetime.combine(TODAY, dt.time())
    assert binh[7] == "Lan"
    assert by_number[G2_TODO[1]][3] == "001190000007"
    cells = {row[0].value: row for row in ws.iter_rows(min_row=2)}
    number, id_cell, birth = cells[G2_TODO[0]][0], cells[G2_TODO[0]][3], cells[G2_TODO[0]][4]
    assert number.data_type == "s" and id_cell.data_type == "s"
    assert birth.is_date and birth.number_format == "dd/mm/yyyy"
    # Injection guard: kept as typed, but a text cell marked as such, never a formula.
    address = cells[G2_TODO[0]][5]
    assert address.value == "=HYPERLINK(\"http://x\")"
    assert address.data_type == "s" and address.quotePrefix
    dash = cells[G2_TODO[1]][5]
    assert dash.value == "-5 Trần Phú, Hà Nội" and dash.quotePrefix
    assert not cells[DUNG][5].quotePrefix

    # Everything is marked exported; only what is new goes out next time.
    assert all(r.exported_at is not None for r in _collections(listed))
    again = pr.export_profiles(listed, tmp_path / "new.xlsx", only_new=True, actor=KT)
    assert again.rows == 0
    assert again.text.startswith("Không có thông tin thu thập mới nào để xuất")
    _record(listed, G2_TODO[2], name="Đỗ Văn Em", id_text="031095000001",
            birth="10/10/1995", address="3 Lạch Tray, Hải Phòng")
    newest = pr.export_profiles(listed, tmp_path / "new.xlsx", only_new=True, actor=KT)
    assert newest.rows == 1
    ws2 = openpyxl.load_workbook(tmp_path / "new.xlsx").active
    assert ws2 is not None and ws2.cell(2, 1).value == G2_TODO[2]


def test_export_csv_has_a_bom_and_guards_formulas(listed: sessionmaker[Session],
                                                 tmp_path: Path) -> None:
    _collect_three(listed)
    out = tmp_path / "icrm.csv"
    assert pr.export_profiles(listed, out, actor=KT).rows == 3
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    lines = raw.decode("utf-8-sig").splitlines()
    assert lines[0] == ",".join(pr.EXPORT_HEADERS)
    binh = next(line for line in lines if line.startswith(G2_TODO[0]))
    assert binh == (f"{G2_TODO[0]},Trần Văn Bình,CMND,012345678,01/02/1975,"
                    f"\"'=HYPERLINK(\"\"http://x\"\")\",{TODAY:%d/%m/%Y},Lan")
    assert "'-5 Trần Phú" in next(line for line in lines if line.startswith(G2_TODO[1]))


def test_export_refuses_a_wrong_file_and_marks_nothing(listed: sessionmaker[Session],
                                                     tmp_path: Path) -> None:
    _record(listed)
    with pytest.raises(UsageError, match="phải có đuôi"):
        pr.export_profiles(listed, tmp_path / "x.pdf", actor=KT)
    with pytest.raises(UsageError, match="không tồn tại"):
        pr.export_profiles(listed, tmp_path / "missing" / "x.xlsx", actor=KT)
    assert _collections(listed)[0].exported_at is None


# --------------------------------------------------------------------------- packages


def test_package_advice_records_the_package_taken(listed: sessionmaker[Session]) -> None:
    stock.move_stock(listed, "receive", "o-2-khuc", 3, actor=LAN, location=STORE)
    first, second = G2_DONE[0], G2_DONE[1]
    case = _case(listed, first)
    with pytest.raises(RuleError, match="cần ghi trao quà"):
        pr.record_package(listed, case.id, "MAX90", actor=HA)
    cw.record_handover(listed, first, actor=HA, item_code="o-2-khuc")
    with pytest.raises(UsageError, match="Không đăng ký"):
        pr.record_package(listed, case.id, "  ", actor=HA)
    result = pr.record_package(listed, case.id, " MAX90 ", actor=HA)
    assert result.changed and result.step == "package_advice"
    assert result.text == f"Đã ghi tư vấn gói cước cho 0902 000 00{first[-1]} ngày " \
                          f"{TODAY:%d/%m/%Y}."
    assert _steps(listed, case.id)["package_advice"] == "MAX90"
    state = pr.profile_state(listed, case.id)
    assert (state.package, state.package_on) == ("MAX90", TODAY)
    # The same again changes nothing; another package needs the step undone first.
    assert not pr.record_package(listed, first, "MAX90", actor=HA).changed
    with pytest.raises(RuleError, match="hủy bước đó"):
        pr.record_package(listed, first, "C120", actor=HA)

    cw.record_handover(listed, second, actor=HA, item_code="o-2-khuc")
    none = pr.record_package(listed, second, "Không đăng ký", actor=HA)
    assert _steps(listed, none.case_id)["package_advice"] == pr.NO_PACKAGE


@pytest.mark.parametrize(("text", "offers"), [
    ("MAX90, C120", ("MAX90", "C120")),
    ("MAX90;C120 ; max90", ("MAX90", "C120")),
    ("D120 / MAX200\nC90", ("D120", "MAX200", "C90")),
    ("", ()),
    (None, ()),
])
def test_split_offers(text: str | None, offers: tuple[str, ...]) -> None:
    assert pr.split_offers(text) == offers
