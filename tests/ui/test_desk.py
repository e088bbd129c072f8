"""The handover desk driven like a USB scanner: type the code, Enter, Enter again."""

from __future__ import annotations

import datetime as dt
import sys
import types
from collections.abc import Iterator

import pytest
from care_data import GAP, GROUP1, STORE, seed_listed
from print_data import printed_code
from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import QDialog
from pytestqt.qtbot import QtBot
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from mbfcare.domain.actors import Actor
from mbfcare.models import CareCase, Handover, Subscriber
from mbfcare.services import care_work, stock
from mbfcare.ui import messages
from mbfcare.ui.desk import DeskPage
from mbfcare.ui.tasks import TaskRunner

ADMIN = Actor("Nguyễn Thị Lan", "admin")
CLERK = Actor("Phạm Thu Hà", "clerk")


def _scanned(number: str) -> str:
    """How the scanner types a number: the international form, 84…"""
    return "84" + number[1:]


@pytest.fixture
def sink() -> Iterator[list[tuple[str, str, str]]]:
    recorded: list[tuple[str, str, str]] = []

    def record(kind: str, text: str, details: str) -> bool:
        recorded.append((kind, text, details))
        return False

    messages.set_sink(record)
    yield recorded
    messages.set_sink(None)


@pytest.fixture
def seeded(factory: sessionmaker[Session], programme_id: int) -> sessionmaker[Session]:
    seed_listed(factory, programme_id)
    stock.move_stock(factory, "receive", "o-2-khuc", 10, actor=ADMIN, location=STORE)
    return factory


@pytest.fixture
def page(qtbot: QtBot, seeded: sessionmaker[Session], programme_id: int,
         sink: list[tuple[str, str, str]]) -> DeskPage:
    runner = TaskRunner()
    desk = DeskPage(seeded, runner, CLERK)
    runner.setParent(desk)
    qtbot.addWidget(desk)
    desk.resize(1000, 560)
    desk.show()
    desk.activateWindow()
    qtbot.waitExposed(desk)
    desk.set_programme(programme_id, 1)
    qtbot.waitUntil(lambda: not runner.is_busy(), timeout=5000)
    return desk


def _idle(qtbot: QtBot, desk: DeskPage) -> None:
    qtbot.waitUntil(lambda: not desk.is_busy(), timeout=5000)


def scan(qtbot: QtBot, desk: DeskPage, text: str) -> None:
    qtbot.keyClicks(desk.input, text)
    qtbot.keyClick(desk.input, Qt.Key.Key_Return)
    _idle(qtbot, desk)


def press(qtbot: QtBot, desk: DeskPage, key: Qt.Key) -> None:
    qtbot.keyClick(desk.input, key)
    _idle(qtbot, desk)


def _handovers(factory: sessionmaker[Session]) -> list[tuple[str, str]]:
    with factory() as session:
        return [(msisdn, status) for msisdn, status in session.execute(
            select(Subscriber.msisdn, Handover.status)
            .join(Subscriber, Subscriber.id == Handover.subscriber_id)
            .order_by(Handover.id))]


def _on_hand(factory: sessionmaker[Session], location: str = STORE) -> int:
    return next(b.on_hand for b in stock.balances(factory)
                if b.item_code == "o-2-khuc" and b.location == location)


def _case_id(factory: sessionmaker[Session], msisdn: str) -> int:
    with factory() as session:
        case_id = session.scalar(select(CareCase.id).join(
            Subscriber, Subscriber.id == CareCase.subscriber_id)
            .where(Subscriber.msisdn == msisdn))
    assert case_id is not None
    return case_id


def _focused(desk: DeskPage) -> bool:
    return desk.input.hasFocus()


def test_ten_customers_in_a_row(qtbot: QtBot, page: DeskPage, seeded: sessionmaker[Session],
                                sink: list[tuple[str, str, str]]) -> None:
    receipts: list[int] = []
    page.receipt_requested.connect(receipts.append)
    numbers = [f"09020000{i:02d}" for i in range(1, 11)]
    for count, number in enumerate(numbers, start=1):
        scan(qtbot, page, _scanned(number))
        shown = page.current_case()
        assert shown is not None and shown.msisdn == number
        assert page.input.text() == ""
        assert "Nhóm 2 · Đợt 1 · " + STORE in page.panel_text()
        assert f"(2) Ô 2 khúc cầm tay · Còn: {11 - count}" in page.panel_text()
        qtbot.keyClick(page.input, Qt.Key.Key_2)
        assert page.chosen_item() == "o-2-khuc"
        assert page.input.text() == ""
        with qtbot.waitSignal(page.receipt_requested, timeout=5000):
            qtbot.keyClick(page.input, Qt.Key.Key_Return)
        _idle(qtbot, page)
        name = f"Khách Hàng Số {int(number[-2:])}"
        qtbot.waitUntil(lambda name=name: f"{name} (ô)" in page.recent_text(), timeout=5000)
        assert page.banner_kind() == "success"
        assert page.banner_text().startswith("✓ Đã trao Ô 2 khúc cầm tay cho " + name)
        assert page.banner_text().endswith(f"còn {10 - count}.")
        assert page.input.text() == ""
        assert _focused(page)
        assert len(_handovers(seeded)) == count
    assert _handovers(seeded) == [(n, "given") for n in numbers]
    assert _on_hand(seeded) == 0
    assert receipts == [_case_id(seeded, n) for n in numbers]
    assert page.recent_text().startswith("Vừa trao: ")
    assert "Khách Hàng Số 10 (ô)" in page.recent_text()
    assert ("notify", "Đã trao Ô 2 khúc cầm tay cho Khách Hàng Số 10 (0902 000 010) tại "
            f"{STORE}; còn 0.", "") in sink

    # The first customer comes back: refused in red, with the first handover's details.
    scan(qtbot, page, "0902000001")
    assert page.banner_kind() == "error"
    assert page.banner_text().startswith("✖ Đã trao quà ngày ")
    assert f"tại {STORE}, người trao: Phạm Thu Hà — không trao lần hai." in page.panel_text()
    assert not page.can_hand_over()
    press(qtbot, page, Qt.Key.Key_Return)
    assert len(_handovers(seeded)) == 10

    # The eleventh finds no umbrella left: refused, then recorded as owed with F6.
    scan(qtbot, page, _scanned("0902000011"))
    qtbot.keyClick(page.input, Qt.Key.Key_2)
    press(qtbot, page, Qt.Key.Key_Return)
    assert page.banner_kind() == "error"
    assert page.banner_text() == (f"✖ {STORE} đã hết Ô 2 khúc cầm tay; ghi nợ quà hoặc "
                                  "chuyển quà từ kho khác đến.")
    assert "F6" in page.panel_text()
    assert page.input.text() == "" and _focused(page)
    assert page.can_owe()
    qtbot.keyClick(page.input, Qt.Key.Key_F6)
    dialog = page.owed_dialog
    assert dialog is not None
    today = care_work.local_today()
    assert dialog.promised_on() == today + dt.timedelta(days=7)
    assert dialog.promised_edit.displayFormat() == "dd/MM/yyyy"
    promised = today + dt.timedelta(days=3)
    dialog.promised_edit.setDate(QDate(promised.year, promised.month, promised.day))
    dialog.note_edit.setText("KH chọn ô")
    dialog.accept()
    _idle(qtbot, page)
    assert page.owed_dialog is None
    assert _handovers(seeded)[-1] == ("0902000011", "owed")
    with seeded() as session:
        owed = session.scalars(select(Handover).where(Handover.status == "owed")).one()
        assert (owed.promised_on, owed.note) == (promised, "KH chọn ô")
    assert page.banner_text().startswith("✓ Đã ghi nợ Ô 2 khúc cầm tay cho Khách Hàng Số 11")
    qtbot.waitUntil(lambda: "Khách Hàng Số 11 (nợ ô)" in page.recent_text(), timeout=5000)

    # Stock arrives; the customer comes back and gets the owed gift with Enter.
    stock.move_stock(seeded, "receive", "o-2-khuc", 1, actor=ADMIN, location=STORE)
    scan(qtbot, page, "0902000011")
    assert page.banner_kind() == "warning"
    assert page.banner_text() == (f"⚠ Đang nợ quà Ô 2 khúc cầm tay tại {STORE}, hẹn "
                                  f"{promised:%d/%m/%Y}.")
    assert page.hand_over_action_text() == "Trao quà nợ (Enter)"
    assert page.chosen_item() == "o-2-khuc"
    with qtbot.waitSignal(page.receipt_requested, timeout=5000) as blocker:
        qtbot.keyClick(page.input, Qt.Key.Key_Return)
    _idle(qtbot, page)
    assert blocker.args == [_case_id(seeded, "0902000011")]
    assert _handovers(seeded)[-1] == ("0902000011", "given")
    assert _on_hand(seeded) == 0


def test_another_workstation_was_faster(qtbot: QtBot, page: DeskPage,
                                        seeded: sessionmaker[Session]) -> None:
    scan(qtbot, page, "0902000004")
    qtbot.keyClick(page.input, Qt.Key.Key_1)
    assert page.chosen_item() == "hop-thuc-pham"
    qtbot.keyClick(page.input, Qt.Key.Key_2)
    assert page.chosen_item() == "o-2-khuc"
    care_work.record_handover(seeded, "0902000004", actor=Actor("Trần Văn Bình", "clerk"),
                              item_code="o-2-khuc")
    press(qtbot, page, Qt.Key.Key_Return)
    assert page.banner_kind() == "error"
    assert "người trao: Trần Văn Bình — không trao lần hai." in page.banner_text()
    assert not page.can_hand_over() and not page.can_owe()
    assert _handovers(seeded) == [("0902000004", "given")]
    assert _on_hand(seeded) == 9
    assert page.input.text() == "" and _focused(page)


def test_printed_receipt_code_opens_the_customer(qtbot: QtBot, page: DeskPage,
                                                 seeded: sessionmaker[Session],
                                                 programme_id: int) -> None:
    case_id = _case_id(seeded, "0902000005")
    scan(qtbot, page, printed_code(seeded, "receipt", programme_id, case_id))
    shown = page.current_case()
    assert shown is not None and (shown.case_id, shown.msisdn) == (case_id, "0902000005")
    assert page.panel_text().splitlines()[0] == "Khách Hàng Số 5"
    assert "0902 000 005 · Nhóm 2 · Đợt 1" in page.panel_text()


def test_survey_code_opens_the_survey_entry(qtbot: QtBot, page: DeskPage,
                                            seeded: sessionmaker[Session], programme_id: int,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[tuple[object, ...]] = []

    class FakeSurveyEntryDialog(QDialog):
        def __init__(self, factory, runner, actor, programme_id, case_id=None, parent=None):
            super().__init__(parent)
            opened.append((factory, actor, programme_id, case_id, parent))

        def exec(self) -> int:
            return 0

    fake = types.ModuleType("mbfcare.ui.survey_entry")
    fake.SurveyEntryDialog = FakeSurveyEntryDialog  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "mbfcare.ui.survey_entry", fake)
    case_id = _case_id(seeded, "0902000007")
    scan(qtbot, page, printed_code(seeded, "survey", programme_id, case_id))
    qtbot.waitUntil(lambda: bool(opened), timeout=5000)
    assert opened == [(seeded, CLERK, programme_id, case_id, page)]
    _idle(qtbot, page)  # the customer is read again after the dialog closed
    shown = page.current_case()
    assert shown is not None and shown.case_id == case_id


def test_gap_case_cannot_be_served(qtbot: QtBot, page: DeskPage,
                                   seeded: sessionmaker[Session]) -> None:
    (number,) = GAP
    scan(qtbot, page, number)
    assert page.banner_kind() == "error"
    assert page.banner_text() == ("✖ Chưa trao quà được: khách hàng đang chờ cán bộ quyết "
                                  "định nhóm.")
    assert "Chưa có nhóm" in page.panel_text()
    assert not page.can_hand_over() and not page.can_owe()
    press(qtbot, page, Qt.Key.Key_Return)
    assert _handovers(seeded) == []


def test_unknown_number_and_bad_code_refused_inline(qtbot: QtBot, page: DeskPage,
                                                    sink: list[tuple[str, str, str]]) -> None:
    scan(qtbot, page, "0912345678")
    assert page.banner_text() == "✖ Không có thuê bao 0912 345 678 trong cơ sở dữ liệu."
    assert page.current_case() is None
    assert page.input.text() == "" and _focused(page)
    scan(qtbot, page, "MBFC-R-1-4-K7Q2M9-00")
    assert page.banner_kind() == "error"
    assert "sai số kiểm tra" in page.banner_text()
    assert page.input.text() == ""
    scan(qtbot, page, "MBFC-R-1-4-63")  # a code of the old form, without the copy's token
    assert "mẫu cũ, không có mã bản in" in page.banner_text()
    assert not [m for m in sink if m[0] == "error"]


def test_customer_panel_shows_profile_offers_and_steps(qtbot: QtBot, page: DeskPage) -> None:
    scan(qtbot, page, "0902000003")  # not standardised: no CCCD, no birth date
    text = page.panel_text()
    assert "⚠ Chưa chuẩn hóa thông tin: cần thu thập số CCCD, ngày sinh" in text
    assert "Quà loại 2 tại " + STORE in text
    assert "(1) Hộp đựng thực phẩm hút chân không · Còn: 0" in text
    assert "Gói cước" not in text
    assert ("Còn phải làm: Gửi SMS, Kiểm tra dữ liệu, Trao quà, Tư vấn gói cước, "
            "Giải đáp thắc mắc, Khảo sát") in text
    assert page.chosen_item() is None and not page.can_hand_over()
    press(qtbot, page, Qt.Key.Key_Return)  # no item chosen yet: nothing recorded, a hint
    assert "nhấn 1 / 2" in page.panel_text()

    scan(qtbot, page, "0902000001")
    assert "Gói cước có thể tư vấn: MAX90, C120" in page.panel_text()
    assert "Chưa chuẩn hóa" not in page.panel_text()

    number = "0901000001"  # group 1: one item, preselected, from the warehouse
    scan(qtbot, page, number)
    assert GROUP1[number][0] in page.panel_text()
    assert "MBF đến tặng (Lê Chân)" in page.panel_text()
    assert page.chosen_item() == "balo-keo"
    assert "(1) Balo kéo du lịch · Còn: 0" in page.panel_text()

    qtbot.keyClick(page.input, Qt.Key.Key_Escape)
    assert page.current_case() is None
    assert page.input.text() == ""
    assert page.banner_text() == ""


def test_place_of_handover_chosen_at_the_top(qtbot: QtBot, page: DeskPage,
                                             seeded: sessionmaker[Session],
                                             programme_id: int) -> None:
    stock.move_stock(seeded, "receive", "o-2-khuc", 2, actor=ADMIN, location=stock.WAREHOUSE)
    page.set_programme(programme_id, 1)  # reads the places again
    combo = page.findChild(type(page._location_combo), "location")
    qtbot.waitUntil(lambda: combo.findData(stock.WAREHOUSE) > 0, timeout=5000)
    assert combo.itemText(0) == "(theo KH)"
    combo.setCurrentIndex(combo.findData(stock.WAREHOUSE))
    combo.activated.emit(combo.currentIndex())
    _idle(qtbot, page)
    scan(qtbot, page, "0902000006")
    assert "Quà loại 2 tại Kho" in page.panel_text()
    assert "(2) Ô 2 khúc cầm tay · Còn: 2" in page.panel_text()
    qtbot.keyClick(page.input, Qt.Key.Key_2)
    press(qtbot, page, Qt.Key.Key_Return)
    assert page.banner_text().endswith("tại Kho; còn 1.")
    assert _on_hand(seeded, stock.WAREHOUSE) == 1
    assert _on_hand(seeded) == 10


def test_profile_form_f4_then_the_customer_is_read_again(
        qtbot: QtBot, page: DeskPage, seeded: sessionmaker[Session],
        monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[int] = []

    class FakeProfileFormDialog(QDialog):
        def __init__(self, factory, runner, actor, case_id, parent=None):
            super().__init__(parent)
            self.case_id = case_id

        def exec(self) -> int:
            opened.append(self.case_id)
            with seeded.begin() as session:  # what the form would save
                sub = session.scalars(select(Subscriber).where(
                    Subscriber.msisdn == "0902000003")).one()
                sub.id_number, sub.birth_date = "031080009999", dt.date(1980, 1, 2)
                sub.profile_standardised = True
            return 1

    fake = types.ModuleType("mbfcare.ui.profile_form")
    fake.ProfileFormDialog = FakeProfileFormDialog  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "mbfcare.ui.profile_form", fake)
    scan(qtbot, page, "0902000003")
    assert "Chưa chuẩn hóa thông tin" in page.panel_text()
    with qtbot.waitSignal(page.case_shown, timeout=5000):
        qtbot.keyClick(page.input, Qt.Key.Key_F4)
    assert opened == [_case_id(seeded, "0902000003")]
    assert "Chưa chuẩn hóa thông tin" not in page.panel_text()
    assert _focused(page)


def test_missing_colleague_dialog_is_said_inline(qtbot: QtBot, page: DeskPage,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "mbfcare.ui.profile_form", None)  # import fails
    monkeypatch.setitem(sys.modules, "mbfcare.ui.survey_entry", None)
    scan(qtbot, page, "0902000003")
    qtbot.keyClick(page.input, Qt.Key.Key_F4)
    assert page.banner_kind() == "warning"
    assert "nhập thông tin khách hàng chưa có" in page.banner_text()
    qtbot.keyClick(page.input, Qt.Key.Key_F7)
    assert "phiếu khảo sát chưa có" in page.banner_text()


def test_second_enter_ignored_while_saving(qtbot: QtBot, page: DeskPage,
                                           seeded: sessionmaker[Session]) -> None:
    scan(qtbot, page, "0902000002")
    qtbot.keyClick(page.input, Qt.Key.Key_2)
    qtbot.keyClick(page.input, Qt.Key.Key_Return)
    qtbot.keyClick(page.input, Qt.Key.Key_Return)  # impatient: must not start a second task
    _idle(qtbot, page)
    assert _handovers(seeded) == [("0902000002", "given")]
    assert page.banner_kind() == "success"
    with seeded() as session:
        assert session.scalar(select(func.count()).select_from(Handover)) == 1


def test_without_programme_the_input_is_off(qtbot: QtBot, page: DeskPage) -> None:
    page.set_programme(None, None)
    assert not page.input.isEnabled()
    assert page.input.placeholderText() == "Chọn chương trình trước"
    assert page.recent_text() == "Vừa trao: chưa có"


def test_viewer_cannot_open_a_customer(qtbot: QtBot, page: DeskPage,
                                       seeded: sessionmaker[Session]) -> None:
    # A viewer (the regional office) reads counts and reports only: the lookup is refused.
    page.set_actor(Actor("Khách xem", "viewer"))
    scan(qtbot, page, "0902000001")
    assert "Vai trò Chỉ xem không được xem danh sách chăm sóc" in page.banner_text()
    assert "0902" not in page.panel_text().replace(page.banner_text(), "")
    assert not page.can_hand_over() and not page.can_owe()
    press(qtbot, page, Qt.Key.Key_Return)
    assert _handovers(seeded) == []
    page.set_actor(CLERK)
    scan(qtbot, page, "0902000001")
    qtbot.keyClick(page.input, Qt.Key.Key_2)
    assert page.chosen_item() == "o-2-khuc"
    assert page.can_hand_over()


def test_package_advice_f8_after_the_gift(qtbot: QtBot, page: DeskPage,
                                          seeded: sessionmaker[Session],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from mbfcare.services import profiles
    from mbfcare.ui.profile_form import PackageDialog

    opened: list[tuple[int, tuple[str, ...]]] = []

    def fake_exec(dialog: PackageDialog) -> int:
        offers = tuple(dialog.offers_list.item(i).data(Qt.ItemDataRole.UserRole)
                       for i in range(dialog.offers_list.count() - 1))
        opened.append((dialog._case_id, offers))  # type: ignore[attr-defined]
        profiles.record_package(seeded, dialog._case_id, "MAX90",  # type: ignore[attr-defined]
                                actor=page._actor)
        return 1

    monkeypatch.setattr(PackageDialog, "exec", fake_exec)
    scan(qtbot, page, "0902000001")
    assert not page._package_button.isEnabled()  # advice comes when the customer is met
    press(qtbot, page, Qt.Key.Key_2)
    press(qtbot, page, Qt.Key.Key_Return)
    scan(qtbot, page, "0902000001")
    assert page._package_button.isEnabled()
    with qtbot.waitSignal(page.case_shown, timeout=5000):
        qtbot.keyClick(page.input, Qt.Key.Key_F8)
    assert opened == [(_case_id(seeded, "0902000001"), ("MAX90", "C120"))]
    assert "Tư vấn gói cước" not in page.panel_text().split("Còn phải làm")[-1]
