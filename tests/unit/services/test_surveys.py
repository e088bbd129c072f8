"""The survey service: the programme's form, answers from paper, the iCRM file, the summary."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from mbfcare.domain.actors import Actor
from mbfcare.domain.survey import load_survey, survey_to_dict
from mbfcare.errors import RuleError, UsageError, ValidationError
from mbfcare.models import AuditEntry, CareCase, CareStep, Subscriber, SurveyResponse
from mbfcare.services import audit, care_work, stock, surveys
from tests.care_data import GROUP1, GROUP2, STORE, seed_listed
from tests.print_data import printed_code

G1, G2 = list(GROUP1), list(GROUP2)
ADMIN = Actor("lan", "admin")
CLERK = Actor("hà", "clerk")
DAY = dt.date(2017, 3, 10)

ANSWERS = {"overall": 4, "network": 5, "customer_care": 3, "gift": 5,
           "services": ["Gọi điện", "Data 3G/4G"], "recommend": "Có",
           "contact_channel": "Zalo"}


@pytest.fixture
def met(factory: sessionmaker[Session], programme_id: int) -> sessionmaker[Session]:
    """Batch 1 listed; the first two of group 1 and of group 2 handed over on DAY."""
    seed_listed(factory, programme_id)
    stock.move_stock(factory, "receive", "balo-keo", 5, actor=ADMIN)
    stock.move_stock(factory, "receive", "o-2-khuc", 5, actor=ADMIN, location=STORE)
    for number in G1[:2]:
        care_work.record_handover(factory, number, actor=ADMIN, on=DAY)
    for number in G2[:2]:
        care_work.record_handover(factory, number, actor=ADMIN, on=DAY, item_code="o-2-khuc")
    return factory


def _case_id(factory: sessionmaker[Session], msisdn: str) -> int:
    with factory() as session:
        return session.scalars(select(CareCase.id).join(Subscriber).where(
            Subscriber.msisdn == msisdn)).one()


def test_form_is_made_from_the_default_once(factory: sessionmaker[Session],
                                            programme_id: int) -> None:
    form = surveys.survey_form(factory, programme_id)
    assert form.version == 1 and form.responses == 0
    assert form.definition == load_survey()
    again = surveys.survey_form(factory, None)
    assert (again.programme_id, again.version) == (programme_id, 1)


def test_form_edit_bumps_version_and_keeps_the_old_one_in_the_audit_log(
        met: sessionmaker[Session], programme_id: int, tmp_path: Path) -> None:
    first = G1[0]
    surveys.save_response(met, programme_id, first, ANSWERS, actor=ADMIN)
    data = survey_to_dict(load_survey())
    data["question"] = [q for q in data["question"] if q["key"] != "gift"]
    data["question"].append({"key": "store_visit", "text": "Anh/Chị đến cửa hàng bằng gì?",
                             "kind": "single", "options": ["Xe máy", "Ô tô", "Đi bộ"]})
    with pytest.raises(RuleError, match="Giao dịch viên"):
        surveys.update_survey_form(met, programme_id, data, CLERK)
    updated = surveys.update_survey_form(met, programme_id, data, ADMIN)
    assert updated.version == 2 and updated.responses == 1
    assert any(line.startswith("Bỏ câu 'gift'") and "1 phiếu đã trả lời" in line
               for line in updated.changes)
    assert any("Thêm câu 8 ('store_visit')" in line for line in updated.changes)
    same = surveys.update_survey_form(met, programme_id, data, ADMIN)
    assert same.version == 2 and same.changes == ()
    entry = audit.entries(met, entity="survey_form")[0]
    assert entry.action == "update_survey_form" and entry.user == "lan"
    assert entry.before is not None and entry.before["version"] == 1
    assert [q["key"] for q in entry.before["definition"]["question"]][3] == "gift"
    # The response answered under version 1 still reads with its own questions.
    response = surveys.response_for(met, _case_id(met, first))
    assert response is not None and response.form_version == 1
    assert response.definition.question("gift").kind == "scale"
    assert response.texts()["gift"] == "5/5"
    # The export keeps the removed question's answers in a column of their own.
    out = tmp_path / "v2.xlsx"
    surveys.export_responses(met, out, programme_id, actor=ADMIN)
    ws = openpyxl.load_workbook(out).active
    assert ws is not None
    header, row = list(ws.iter_rows(values_only=True))
    assert header[5 + 7] == "Câu 8. Anh/Chị đến cửa hàng bằng gì?"
    assert header[-2] == ("Anh/Chị có hài lòng với món quà tri ân MobiFone gửi tặng không? "
                          "(câu đã bỏ, phiên bản 1)")
    assert row[5 + 7] is None and row[-2] == 5
    bad = dict(data, question=[{"key": "x", "text": "Một lựa chọn", "kind": "single",
                                "options": ["Có"]}])
    with pytest.raises(ValidationError, match="ít nhất hai lựa chọn"):
        surveys.update_survey_form(met, programme_id, bad, ADMIN)
    assert surveys.survey_form(met, programme_id).version == 2


def test_define_enter_export_round_trip(met: sessionmaker[Session], programme_id: int,
                                        tmp_path: Path) -> None:
    g1, g2 = G1[0], G2[1]
    code = printed_code(met, "survey", programme_id, _case_id(met, g2))
    saved = surveys.save_response(met, programme_id, g1, ANSWERS, actor=CLERK)
    assert saved.text == "Đã lưu phiếu khảo sát của Nguyễn Văn An (0901 000 001)."
    assert (saved.answered_on, saved.step_recorded, saved.replaced) == (DAY, True, False)
    typed = surveys.parse_typed_answers(surveys.survey_form(met, programme_id).definition, {
        "overall": "2", "network": "3", "customer_care": "1", "gift": "4",
        "services": "1 3 7", "recommend": "chua chac", "contact_channel": "5",
        "suggestions": "=Sóng yếu ở Lê Chân"})
    surveys.save_response(met, programme_id, code, typed, actor=CLERK,
                          answered_on=dt.date(2017, 3, 12))

    out = tmp_path / "khaosat.xlsx"
    result = surveys.export_responses(met, out, programme_id, actor=CLERK)
    assert (result.rows, result.format, result.form_version) == (2, "xlsx", 1)
    ws = openpyxl.load_workbook(out).active
    assert ws is not None
    rows = list(ws.iter_rows(values_only=True))
    header = rows[0]
    assert header[:5] == ("Số thuê bao", "Họ tên", "Đợt", "Nhóm", "Ngày khảo sát")
    assert header[5] == ("Câu 1. Nhìn chung, Anh/Chị hài lòng với dịch vụ của MobiFone ở "
                         "mức nào?")
    assert header[6].startswith("Câu 2. Anh/Chị đánh giá thế nào") and header[6].endswith("…")
    assert header[-1] == "Người nhập" and len(header) == 5 + 8 + 1
    first, second = rows[1], rows[2]
    assert first[:4] == ("0901000001", "Nguyễn Văn An", 1, 1)
    assert second[:4] == (g2, "Khách Hàng Số 2", 1, 2)
    assert first[4] == dt.datetime(2017, 3, 10)
    assert ws.cell(2, 5).number_format == "dd/mm/yyyy"
    assert ws.cell(2, 1).data_type == "s"
    assert first[5:13] == (4, 5, 3, 5, "Gọi điện; Data 3G/4G", "Có", "Zalo", None)
    assert second[5:13] == (2, 3, 1, 4, "Gọi điện; Data 3G/4G; Dịch vụ khác", "Chưa chắc",
                            "Ứng dụng My MobiFone", "'=Sóng yếu ở Lê Chân")
    assert first[13] == "hà"
    with met() as session:
        assert all(r.exported_at is not None for r in session.scalars(select(SurveyResponse)))
    # Only the new ones, and the CSV for the same upload.
    assert surveys.export_responses(met, tmp_path / "none.xlsx", programme_id, only_new=True,
                                    actor=CLERK).rows == 0
    g1b = G1[1]
    surveys.save_response(met, programme_id, g1b, ANSWERS, actor=CLERK)
    csv_out = tmp_path / "moi.csv"
    result = surveys.export_responses(met, csv_out, programme_id, only_new=True, batch=1,
                                      actor=CLERK)
    assert result.rows == 1 and result.format == "csv"
    assert csv_out.read_bytes().startswith(b"\xef\xbb\xbf")
    with csv_out.open(encoding="utf-8-sig", newline="") as f:
        lines = list(csv.reader(f))
    assert lines[0][:5] == list(surveys.EXPORT_FIXED_HEADERS)
    assert lines[1][:6] == [g1b, "Phạm Thị Dung", "1", "1", "10/03/2017", "4"]
    with pytest.raises(UsageError, match="đuôi"):
        surveys.export_responses(met, tmp_path / "x.txt", programme_id, actor=CLERK)


def test_survey_step_is_recorded_in_the_same_transaction(met: sessionmaker[Session],
                                                         programme_id: int) -> None:
    number = G1[0]
    surveys.save_response(met, programme_id, number, ANSWERS, actor=CLERK)
    case_id = _case_id(met, number)
    with met() as session:
        case = session.get(CareCase, case_id)
        assert case is not None and case.survey_on == DAY
        step = session.scalars(select(CareStep).where(CareStep.care_case_id == case_id,
                                                      CareStep.step == "survey")).one()
        assert (step.done_on, step.recorded_by) == (DAY, "hà")
    # Saving the same answers again changes nothing.
    again = surveys.save_response(met, programme_id, number, ANSWERS, actor=CLERK)
    assert not again.changed and again.text.endswith("đã có, không thay đổi.")


def test_refused_and_nothing_stored_when_the_customer_was_not_met(
        met: sessionmaker[Session], programme_id: int) -> None:
    number = G1[2]  # listed, no handover
    case = surveys.lookup_case(met, programme_id, number, actor=Actor("test"))
    assert not case.met and "ghi trao quà trước" in case.problem
    with pytest.raises(RuleError, match="làm khi gặp khách hàng"):
        surveys.save_response(met, programme_id, number, ANSWERS, actor=CLERK)
    with met() as session:
        assert session.scalars(select(SurveyResponse)).all() == []
        assert session.scalars(select(CareStep).where(CareStep.step == "survey")).all() == []


def test_answers_are_validated(met: sessionmaker[Session], programme_id: int) -> None:
    number = G1[0]
    with pytest.raises(ValidationError, match=r"Câu 1: điểm 7 nằm ngoài 1–5\.") as caught:
        surveys.save_response(met, programme_id, number, {**ANSWERS, "overall": 7},
                              actor=CLERK)
    assert "Câu 6" not in str(caught.value)
    missing = {k: v for k, v in ANSWERS.items() if k != "recommend"}
    with pytest.raises(ValidationError, match=r"Câu 6: câu bắt buộc chưa được trả lời\."):
        surveys.save_response(met, programme_id, number, missing, actor=CLERK)
    definition = surveys.survey_form(met, programme_id).definition
    with pytest.raises(ValidationError, match="không có câu 'colour'"):
        surveys.parse_typed_answers(definition, {"colour": "1"})
    with pytest.raises(ValidationError, match="Câu 5: không có lựa chọn 9"):
        surveys.parse_typed_answers(definition, {"services": "9"})


def test_replacing_needs_the_correct_role_and_a_reason(met: sessionmaker[Session],
                                                       programme_id: int) -> None:
    number = G1[0]
    surveys.save_response(met, programme_id, number, ANSWERS, actor=CLERK)
    changed = {**ANSWERS, "overall": 2}
    with pytest.raises(RuleError, match="không được hủy hoặc sửa"):
        surveys.save_response(met, programme_id, number, changed, actor=CLERK,
                              reason="gõ nhầm")
    head = Actor("Phạm Thu Hà", "head")
    with pytest.raises(UsageError, match="sửa lại cần ghi lý do"):
        surveys.save_response(met, programme_id, number, changed, actor=head)
    result = surveys.save_response(met, programme_id, number, changed, actor=head,
                                   reason="gõ nhầm câu 1")
    assert result.replaced and result.text.startswith("Đã sửa phiếu khảo sát")
    response = surveys.response_for(met, _case_id(met, number))
    assert response is not None and response.answers["overall"] == 2
    assert response.entered_by == "Phạm Thu Hà"
    with met() as session:
        entry = session.scalars(select(AuditEntry).where(
            AuditEntry.action == "replace_survey")).one()
    assert entry.reason == "gõ nhầm câu 1"
    assert entry.before is not None and entry.before["answers"]["overall"] == 4
    assert entry.after is not None and entry.after["answers"]["overall"] == 2
    assert audit.verify_chain(met) == []


def test_lookup_by_scan_number_or_id(met: sessionmaker[Session], programme_id: int) -> None:
    number = G2[0]
    case_id = _case_id(met, number)
    by_code = surveys.lookup_case(met, programme_id, printed_code(met, "survey", programme_id,
                                                                   case_id), actor=Actor("test"))
    by_number = surveys.lookup_case(met, programme_id, "84 902 000 001", actor=Actor("test"))
    by_id = surveys.lookup_case(met, programme_id, case_id, actor=Actor("test"))
    assert by_code == by_number == by_id
    assert by_code.title == "KHÁCH HÀNG SỐ 1 · 0902 000 001 · Nhóm 2 · Đợt 1"
    assert by_code.met and by_code.default_date == DAY and by_code.response is None
    surveys.save_response(met, programme_id, case_id, ANSWERS, actor=CLERK)
    loaded = surveys.lookup_case(met, programme_id, case_id, actor=Actor("test"))
    assert loaded.response is not None and loaded.response.texts()["services"] == \
        "Gọi điện; Data 3G/4G"


def test_summary_counts(met: sessionmaker[Session], programme_id: int) -> None:
    people = G1[:2] + G2[:2]
    scores = [5, 4, 4, 1]
    for number, score in zip(people, scores, strict=True):
        services = ["SMS"] if score == 1 else ["Gọi điện", "SMS"]
        extra = {"suggestions": "Tốt"} if score == 5 else {}
        surveys.save_response(met, programme_id, number,
                              {**ANSWERS, "overall": score, "services": services, **extra},
                              actor=CLERK)
    summary = surveys.survey_summary(met, programme_id)
    assert summary.responses == 4 and summary.form_version == 1
    overall = summary.questions[0]
    assert overall.counts == (("1", 1), ("2", 0), ("3", 0), ("4", 2), ("5", 1))
    assert overall.mean == 3.5 and overall.answered == 4
    services = summary.questions[4]
    assert dict(services.counts)["SMS"] == 4 and dict(services.counts)["Gọi điện"] == 3
    assert summary.questions[7].answered == 1 and summary.questions[7].counts == ()
    assert surveys.survey_summary(met, programme_id, batch=1).responses == 4
    with pytest.raises(RuleError, match="không có đợt 9"):
        surveys.survey_summary(met, programme_id, batch=9)
