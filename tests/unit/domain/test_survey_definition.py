"""The survey form as data: loading, checking, storing, and answers typed in the entry grid."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path
from typing import Any

import pytest

from mbfcare.domain.survey import (
    AnswerProblem,
    Question,
    SurveyDefinition,
    SurveyProblem,
    answer_text,
    check_survey,
    load_survey,
    parse_answer,
    parse_answers,
    survey_from_dict,
    survey_to_dict,
    validate_answers,
)
from mbfcare.paths import resources_dir

SCALE = Question(
    "overall", "Mức độ hài lòng?", "scale", low="Rất không hài lòng", high="Rất hài lòng"
)
SINGLE = Question("recommend", "Giới thiệu MobiFone?", "single", ("Có", "Không", "Chưa chắc"))
MULTIPLE = Question(
    "services", "Dịch vụ đang dùng?", "multiple", ("Gọi điện", "SMS", "Data 3G/4G", "MobiTV")
)
TEXT = Question("suggestions", "Góp ý?", "text", required=False)
SMALL = SurveyDefinition("Phiếu khảo sát", "Xin cảm ơn.", (SCALE, SINGLE, MULTIPLE, TEXT))


def _small_dict() -> dict[str, Any]:
    return survey_to_dict(SMALL)


# --- the shipped default -------------------------------------------------------------------


def test_default_survey_loads_with_unique_keys() -> None:
    survey = load_survey()
    keys = [q.key for q in survey.questions]
    assert len(keys) == len(set(keys)) == 8
    assert survey.title == "Phiếu khảo sát ý kiến khách hàng"
    assert {q.kind for q in survey.questions} == {"scale", "single", "multiple", "text"}
    assert survey.question("recommend").options == ("Có", "Không", "Chưa chắc")
    assert "Data 3G/4G" in survey.question("services").options
    assert survey.question("suggestions").required is False
    assert survey.question("overall").low == "Rất không hài lòng"


def test_default_survey_file_is_nfc_and_shipped_under_resources() -> None:
    path = resources_dir() / "surveys" / "default.toml"
    text = path.read_text(encoding="utf-8")
    assert unicodedata.is_normalized("NFC", text)
    assert load_survey(path) == load_survey()


# --- storing -------------------------------------------------------------------------------


def test_round_trip_dict_definition_dict() -> None:
    data = survey_to_dict(load_survey())
    stored = json.loads(json.dumps(data, ensure_ascii=False))
    assert survey_to_dict(survey_from_dict(stored)) == data
    assert survey_from_dict(stored) == load_survey()


def test_to_dict_states_every_required_flag() -> None:
    data = _small_dict()
    assert data["question"][0] == {
        "key": "overall",
        "text": "Mức độ hài lòng?",
        "kind": "scale",
        "low": "Rất không hài lòng",
        "high": "Rất hài lòng",
        "required": True,
    }
    assert data["question"][2]["options"] == ["Gọi điện", "SMS", "Data 3G/4G", "MobiTV"]
    assert data["question"][3]["required"] is False


def test_from_dict_defaults_and_cleaning() -> None:
    data = {
        "title": "  Phiếu  ",
        "question": [
            {"key": "a", "text": unicodedata.normalize("NFD", "Hài  lòng?"), "kind": "scale"},
            {"key": "b", "text": "Góp ý?", "kind": "text"},
        ],
    }
    survey = survey_from_dict(data)
    assert survey.title == "Phiếu"
    assert survey.intro == ""
    assert survey.questions[0].text == "Hài lòng?"
    assert unicodedata.is_normalized("NFC", survey.questions[0].text)
    assert [q.required for q in survey.questions] == [True, False]
    assert survey.number_of("b") == 2


# --- checking the definition ---------------------------------------------------------------


def _with_question(**changes: Any) -> dict[str, Any]:
    data = _small_dict()
    data["question"][1] = {**data["question"][1], **changes}
    return data


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            _with_question(key="overall"),
            "Câu 2 (overall): khóa 'overall' bị trùng với một câu trước.",
        ),
        (
            _with_question(kind="rating"),
            "Câu 2 (recommend): loại câu hỏi 'rating' không có; dùng "
            "scale, single, multiple hoặc text.",
        ),
        (
            _with_question(options=[]),
            "Câu 2 (recommend): câu hỏi loại 'single' cần ít nhất hai lựa chọn (options).",
        ),
        (_with_question(options=["Có", "co"]), "Câu 2 (recommend): có hai lựa chọn trùng nhau."),
        (_with_question(text="  "), "Câu 2 (recommend): thiếu 'text'."),
        (
            _with_question(key="Câu 2"),
            "Câu 2: khóa 'Câu 2' phải là chữ thường không dấu, số hoặc "
            "'_' (bắt đầu bằng chữ, tối đa 40 ký tự).",
        ),
        (_with_question(requred=False), "Câu 2 (recommend): khóa lạ 'requred'."),
        (_with_question(required="yes"), "Câu 2 (recommend): 'required' phải là true hoặc false."),
        (
            _with_question(kind="text"),
            "Câu 2 (recommend): chỉ câu hỏi single/multiple mới có options.",
        ),
        ({"title": "", "question": []}, "Phiếu khảo sát: thiếu 'title'."),
        ({"title": "Phiếu", "question": []}, "Phiếu khảo sát chưa có câu hỏi nào."),
    ],
)
def test_definition_problems(data: dict[str, Any], message: str) -> None:
    with pytest.raises(SurveyProblem) as caught:
        survey_from_dict(data)
    assert str(caught.value) == message


def test_check_survey_on_a_built_definition() -> None:
    check_survey(SMALL)
    bad = SurveyDefinition("Phiếu", "", (SCALE, Question("x", "Chọn?", "multiple")))
    with pytest.raises(SurveyProblem, match=r"^Câu 2 \(x\): câu hỏi loại 'multiple'"):
        check_survey(bad)


def test_load_survey_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "khaosat.toml"
    path.write_text(
        'title = "Phiếu"\n[[question]]\nkey = "a"\ntext = "?"\nkind = "star"\n', encoding="utf-8"
    )
    with pytest.raises(SurveyProblem, match=r"^khaosat\.toml: Câu 1 \(a\): loại câu hỏi 'star'"):
        load_survey(path)
    path.write_text("title = ", encoding="utf-8")
    with pytest.raises(SurveyProblem, match=r"^khaosat\.toml: không đọc được tệp TOML"):
        load_survey(path)


# --- typed answers -------------------------------------------------------------------------


@pytest.mark.parametrize(("typed", "value"), [("1", 1), ("5", 5), (" 4 ", 4)])
def test_scale_answers(typed: str, value: int) -> None:
    assert parse_answer(SCALE, typed) == value


@pytest.mark.parametrize("typed", ["0", "6", "45", "4.5", "bốn", "５"])
def test_scale_refuses(typed: str) -> None:
    with pytest.raises(AnswerProblem) as caught:
        parse_answer(SCALE, typed, number=3)
    assert str(caught.value) == "Câu 3: chọn từ 1 đến 5."
    assert caught.value.key == "overall"


@pytest.mark.parametrize(
    ("typed", "value"),
    [
        ("1", "Có"),
        ("3", "Chưa chắc"),
        ("co", "Có"),
        ("KHÔNG", "Không"),
        ("chua chac", "Chưa chắc"),
        ("chưa", "Chưa chắc"),  # the start of one option only
        (unicodedata.normalize("NFD", "Không"), "Không"),
    ],
)
def test_single_answers(typed: str, value: str) -> None:
    assert parse_answer(SINGLE, typed) == value


def test_single_refuses() -> None:
    with pytest.raises(AnswerProblem, match=r"^Câu 6: chọn từ 1 đến 3\.$"):
        parse_answer(SINGLE, "4", number=6)
    with pytest.raises(AnswerProblem) as caught:
        parse_answer(SINGLE, "có lẽ")
    assert str(caught.value) == "'có lẽ' không khớp lựa chọn nào; gõ số từ 1 đến 3."


@pytest.mark.parametrize(
    ("typed", "value"),
    [
        ("1 3", ["Gọi điện", "Data 3G/4G"]),
        ("13", ["Gọi điện", "Data 3G/4G"]),
        ("1,3", ["Gọi điện", "Data 3G/4G"]),
        ("3+1", ["Gọi điện", "Data 3G/4G"]),
        ("2 2 4", ["SMS", "MobiTV"]),
        ("sms; mobitv", ["SMS", "MobiTV"]),
        ("Gọi điện, SMS", ["Gọi điện", "SMS"]),
        ("Data 3G/4G; 1", ["Gọi điện", "Data 3G/4G"]),
    ],
)
def test_multiple_answers(typed: str, value: list[str]) -> None:
    assert parse_answer(MULTIPLE, typed) == value


def test_multiple_refuses() -> None:
    with pytest.raises(AnswerProblem) as caught:
        parse_answer(MULTIPLE, "1 5", number=5)
    assert str(caught.value) == "Câu 5: không có lựa chọn 5; gõ các số từ 1 đến 4, ví dụ 1 3."
    with pytest.raises(AnswerProblem, match=r"^Câu 5: 'Zalo' không khớp lựa chọn nào"):
        parse_answer(MULTIPLE, "Zalo", number=5)


def test_multiple_with_more_than_nine_options_needs_separators() -> None:
    many = Question("m", "Chọn?", "multiple", tuple(f"Lựa chọn {i}" for i in range(1, 13)))
    assert parse_answer(many, "1 12") == ["Lựa chọn 1", "Lựa chọn 12"]
    assert parse_answer(many, "12") == ["Lựa chọn 12"]
    with pytest.raises(AnswerProblem, match=r"^Không có lựa chọn 13;"):
        parse_answer(many, "13")


def test_text_answers_are_cleaned() -> None:
    typed = unicodedata.normalize("NFD", "  Sóng  yếu ở\u00a0Kiến An \n\n Cần thêm cửa hàng ")
    assert parse_answer(TEXT, typed) == "Sóng yếu ở Kiến An\nCần thêm cửa hàng"


def test_blank_means_no_answer() -> None:
    assert parse_answer(TEXT, "   ") is None
    optional = Question("o", "Chọn?", "multiple", ("A", "B"), required=False)
    assert parse_answer(optional, " , ") is None
    for question in (SCALE, SINGLE, MULTIPLE):
        with pytest.raises(AnswerProblem) as caught:
            parse_answer(question, "", number=2)
        assert str(caught.value) == "Câu 2: câu này bắt buộc, chưa có câu trả lời."


def test_answer_text_reads_back() -> None:
    assert answer_text(SCALE, 4) == "4/5"
    assert answer_text(SINGLE, "Chưa chắc") == "Chưa chắc"
    assert answer_text(MULTIPLE, ["Gọi điện", "SMS"]) == "Gọi điện; SMS"
    assert answer_text(TEXT, "Tốt") == "Tốt"
    assert answer_text(TEXT, None) == ""
    assert answer_text(MULTIPLE, []) == ""
    for question, value in (
        (SCALE, 4),
        (SINGLE, "Không"),
        (MULTIPLE, ["SMS", "MobiTV"]),
        (TEXT, "Tốt"),
    ):
        assert parse_answer(question, answer_text(question, value)) == value


def test_parse_answers_reads_a_grid_row() -> None:
    answers, problems = parse_answers(
        SMALL, {"overall": "4", "recommend": "1", "services": "24", "suggestions": ""}
    )
    assert answers == {"overall": 4, "recommend": "Có", "services": ["SMS", "MobiTV"]}
    assert problems == {}
    answers, problems = parse_answers(SMALL, {"overall": "7", "services": "1"})
    assert answers == {"services": ["Gọi điện"]}
    assert problems == {
        "overall": "Câu 1: chọn từ 1 đến 5.",
        "recommend": "Câu 2: câu này bắt buộc, chưa có câu trả lời.",
    }


# --- stored answers ------------------------------------------------------------------------


def test_validate_answers_accepts_a_complete_response() -> None:
    answers = {"overall": 5, "recommend": "Không", "services": ["SMS"], "suggestions": "Ổn"}
    assert validate_answers(SMALL, answers) == {}
    assert validate_answers(SMALL, {**answers, "suggestions": None}) == {}


def test_validate_answers_reports_each_problem() -> None:
    answers: dict[str, object] = {
        "overall": 6,
        "recommend": "Có thể",
        "services": ["SMS", "SMS"],
        "suggestions": 3,
        "extra": "?",
    }
    assert validate_answers(SMALL, answers) == {
        "overall": "Câu 1: điểm 6 nằm ngoài 1–5.",
        "recommend": "Câu 2: 'Có thể' không phải một lựa chọn của câu này.",
        "services": "Câu 3: một lựa chọn được ghi hai lần.",
        "suggestions": "Câu 4: câu trả lời phải là chữ.",
        "extra": "Câu hỏi 'extra' không có trong phiếu khảo sát.",
    }


def test_validate_answers_types_and_missing() -> None:
    problems = validate_answers(SMALL, {"overall": True, "services": "SMS"})
    assert problems == {
        "overall": "Câu 1: câu trả lời phải là một số từ 1 đến 5.",
        "recommend": "Câu 2: câu bắt buộc chưa được trả lời.",
        "services": "Câu 3: câu trả lời phải là danh sách các lựa chọn.",
    }
    assert validate_answers(SMALL, {"overall": 3, "recommend": "Có", "services": ["Zalo"]}) == {
        "services": "Câu 3: 'Zalo' không phải một lựa chọn của câu này."
    }
