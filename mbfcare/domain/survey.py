"""The customer survey form (phiếu khảo sát ý kiến khách hàng), defined once as data.

The same definition prints the paper form, drives the entry grid where clerks type the
answers from paper, and checks the stored answers. It comes from a TOML file (the default in
`resources/surveys/default.toml`) and is kept per programme as JSON (`survey_to_dict`).

Answers are stored in plain JSON form: a scale answer is an int 1–5, a single choice the
option's text, a multiple choice the list of option texts in the form's order, free text a
str; a question left unanswered is absent (or None). Option texts rather than numbers are
stored so that reordering the options of a later version does not change old answers.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

from mbfcare.domain.vntext import clean_text, fold
from mbfcare.paths import resource_file

__all__ = [
    "CHOICE_KINDS",
    "KINDS",
    "SCALE_MAX",
    "SCALE_MIN",
    "Answer",
    "AnswerProblem",
    "Question",
    "SurveyDefinition",
    "SurveyProblem",
    "answer_text",
    "check_survey",
    "default_survey_path",
    "load_survey",
    "parse_answer",
    "parse_answers",
    "survey_from_dict",
    "survey_to_dict",
    "validate_answers",
]

KINDS = ("scale", "single", "multiple", "text")
CHOICE_KINDS = ("single", "multiple")
SCALE_MIN, SCALE_MAX = 1, 5
# Beyond nine options "13" could mean option 13 or options 1 and 3: digits must be separated.
_MAX_RUN_TOGETHER = 9

#: A stored answer: int (scale), str (single, text), list of option texts (multiple), None.
Answer: TypeAlias = int | str | list[str] | None


class SurveyProblem(ValueError):
    """A survey definition that cannot be used; the message says which question and why."""


class AnswerProblem(ValueError):
    """An answer that does not fit its question; the message is one sentence for the clerk."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


@dataclass(frozen=True, slots=True)
class Question:
    """One question of the form.

    `options` belong to the choice kinds only, `low`/`high` (the words under 1 and 5) to
    the scale. `required` defaults to True here; in files it defaults to False for text.
    """

    key: str
    text: str
    kind: str
    options: tuple[str, ...] = ()
    low: str = ""
    high: str = ""
    required: bool = True


@dataclass(frozen=True, slots=True)
class SurveyDefinition:
    """The whole form: title, the sentence(s) read or printed first, and the questions."""

    title: str
    intro: str
    questions: tuple[Question, ...]

    def question(self, key: str) -> Question:
        """The question with this key.

        Raises:
            KeyError: no such question.
        """
        for question in self.questions:
            if question.key == key:
                return question
        raise KeyError(key)

    def number_of(self, key: str) -> int:
        """The question's number on the form, from 1 ("Câu 3").

        Raises:
            KeyError: no such question.
        """
        for number, question in enumerate(self.questions, 1):
            if question.key == key:
                return number
        raise KeyError(key)


# --- the definition ------------------------------------------------------------------------

_KEY_RE = re.compile(r"[a-z][a-z0-9_]{0,39}", re.ASCII)
_QUESTION_FIELDS = frozenset({"key", "text", "kind", "options", "low", "high", "required"})
_SURVEY_FIELDS = frozenset({"title", "intro", "question"})


def _where(number: int, key: str) -> str:
    return f"Câu {number} ({key})" if key else f"Câu {number}"


def check_survey(definition: SurveyDefinition) -> None:
    """Refuse a definition the form, the entry grid or the stored answers could not work with.

    Raises:
        SurveyProblem: empty title or question text, no questions, a key that is not a short
            ASCII id or is used twice, an unknown kind, a choice question with fewer than two
            options or with two options that only differ by case or accents, options or
            scale labels on a question of another kind.
    """
    if not definition.title.strip():
        raise SurveyProblem("Phiếu khảo sát chưa có tiêu đề (title).")
    if not definition.questions:
        raise SurveyProblem("Phiếu khảo sát chưa có câu hỏi nào.")
    seen: set[str] = set()
    for number, question in enumerate(definition.questions, 1):
        where = _where(number, question.key)
        if not _KEY_RE.fullmatch(question.key):
            raise SurveyProblem(
                f"Câu {number}: khóa '{question.key}' phải là chữ thường không dấu, số hoặc '_' "
                "(bắt đầu bằng chữ, tối đa 40 ký tự)."
            )
        if question.key in seen:
            raise SurveyProblem(f"{where}: khóa '{question.key}' bị trùng với một câu trước.")
        seen.add(question.key)
        if not question.text.strip():
            raise SurveyProblem(f"{where}: chưa có nội dung câu hỏi (text).")
        if question.kind not in KINDS:
            raise SurveyProblem(
                f"{where}: loại câu hỏi '{question.kind}' không có; dùng scale, single, "
                "multiple hoặc text."
            )
        if question.kind in CHOICE_KINDS:
            if len(question.options) < 2:
                raise SurveyProblem(
                    f"{where}: câu hỏi loại '{question.kind}' cần ít nhất hai lựa chọn (options)."
                )
            folded = [fold(option) for option in question.options]
            if any(not option for option in folded):
                raise SurveyProblem(f"{where}: có lựa chọn để trống.")
            if len(set(folded)) != len(folded):
                raise SurveyProblem(f"{where}: có hai lựa chọn trùng nhau.")
        elif question.options:
            raise SurveyProblem(f"{where}: chỉ câu hỏi single/multiple mới có options.")
        if question.kind != "scale" and (question.low or question.high):
            raise SurveyProblem(f"{where}: chỉ câu hỏi scale mới có nhãn low/high.")


def _text(table: Mapping[str, Any], key: str, where: str, *, required: bool) -> str:
    value = table.get(key, "")
    if not isinstance(value, str):
        raise SurveyProblem(f"{where}: '{key}' phải là chuỗi chữ.")
    if required and not value.strip():
        raise SurveyProblem(f"{where}: thiếu '{key}'.")
    return clean_text(value)


def _question_from_dict(raw: object, number: int) -> Question:
    if not isinstance(raw, Mapping):
        raise SurveyProblem(f"Câu {number}: phải là một bảng [[question]].")
    key = raw.get("key", "")
    where = _where(number, key if isinstance(key, str) else "")
    unknown = sorted(set(raw) - _QUESTION_FIELDS)
    if unknown:
        raise SurveyProblem(f"{where}: khóa lạ {', '.join(repr(k) for k in unknown)}.")
    kind = _text(raw, "kind", where, required=True)
    options = raw.get("options", [])
    if not isinstance(options, list) or not all(isinstance(o, str) for o in options):
        raise SurveyProblem(f"{where}: 'options' phải là danh sách chuỗi chữ.")
    required = raw.get("required", kind != "text")
    if not isinstance(required, bool):
        raise SurveyProblem(f"{where}: 'required' phải là true hoặc false.")
    return Question(
        key=_text(raw, "key", where, required=True),
        text=_text(raw, "text", where, required=True),
        kind=kind,
        options=tuple(clean_text(option) for option in options),
        low=_text(raw, "low", where, required=False),
        high=_text(raw, "high", where, required=False),
        required=required,
    )


def survey_from_dict(data: Mapping[str, Any]) -> SurveyDefinition:
    """A definition from its TOML tables or stored JSON (the shape `survey_to_dict` writes).

    Texts are cleaned (NFC, single spaces); the intro keeps its line breaks. `required`
    defaults to true, except for text questions.

    Raises:
        SurveyProblem: a missing or mistyped field, an unknown field (a typo would otherwise
            be ignored silently), or any problem `check_survey` finds.
    """
    unknown = sorted(set(data) - _SURVEY_FIELDS)
    if unknown:
        raise SurveyProblem(f"Phiếu khảo sát: khóa lạ {', '.join(repr(k) for k in unknown)}.")
    intro = data.get("intro", "")
    if not isinstance(intro, str):
        raise SurveyProblem("Phiếu khảo sát: 'intro' phải là chuỗi chữ.")
    intro = "\n".join(clean_text(line) for line in intro.strip().splitlines())
    raw_questions = data.get("question", [])
    if not isinstance(raw_questions, list):
        raise SurveyProblem("Phiếu khảo sát: 'question' phải là danh sách các câu hỏi.")
    definition = SurveyDefinition(
        title=_text(data, "title", "Phiếu khảo sát", required=True),
        intro=intro,
        questions=tuple(
            _question_from_dict(raw, number) for number, raw in enumerate(raw_questions, 1)
        ),
    )
    check_survey(definition)
    return definition


def survey_to_dict(definition: SurveyDefinition) -> dict[str, Any]:
    """The definition as JSON-ready data (lists, no tuples), to keep per programme.

    Every question states `required`, so the stored form never depends on defaults.
    """
    questions: list[dict[str, Any]] = []
    for question in definition.questions:
        table: dict[str, Any] = {
            "key": question.key,
            "text": question.text,
            "kind": question.kind,
        }
        if question.options:
            table["options"] = list(question.options)
        if question.low:
            table["low"] = question.low
        if question.high:
            table["high"] = question.high
        table["required"] = question.required
        questions.append(table)
    return {"title": definition.title, "intro": definition.intro, "question": questions}


def default_survey_path() -> Path:
    """The survey shipped with the application."""
    return resource_file("surveys", "default.toml")


def load_survey(path: Path | None = None) -> SurveyDefinition:
    """Read a survey definition from a TOML file (the shipped default when no path is given).

    Raises:
        SurveyProblem: the file is not valid TOML or not a valid survey; the message starts
            with the file's name.
        OSError: the file cannot be opened.
    """
    path = default_survey_path() if path is None else path
    with path.open("rb") as fh:
        try:
            data = tomllib.load(fh)
        except tomllib.TOMLDecodeError as exc:
            raise SurveyProblem(f"{path.name}: không đọc được tệp TOML ({exc}).") from exc
    try:
        return survey_from_dict(data)
    except SurveyProblem as exc:
        raise SurveyProblem(f"{path.name}: {exc}") from exc


# --- answers -------------------------------------------------------------------------------

_DIGIT_LIST_RE = re.compile(r"[0-9][0-9\s,+]*", re.ASCII)
_DIGIT_SPLIT_RE = re.compile(r"[\s,+]+")


def _problem(question: Question, number: int | None, sentence: str) -> AnswerProblem:
    prefix = f"Câu {number}: " if number is not None else ""
    if not prefix:
        sentence = sentence[:1].upper() + sentence[1:]
    return AnswerProblem(question.key, prefix + sentence)


def _match_option(question: Question, typed: str) -> str | None:
    """The option whose text is `typed` ignoring case and accents, else the only one it begins."""
    key = fold(typed)
    folded = [fold(option) for option in question.options]
    if key in folded:
        return question.options[folded.index(key)]
    starting = [
        option for option, f in zip(question.options, folded, strict=True) if f.startswith(key)
    ]
    return starting[0] if len(starting) == 1 else None


def _indexes(question: Question, typed: str) -> list[int] | None:
    """1-based option numbers typed as digits ("1 3", "1,3", "1+3", "13"); None if not digits."""
    if not _DIGIT_LIST_RE.fullmatch(typed):
        return None
    numbers: list[int] = []
    for token in _DIGIT_SPLIT_RE.split(typed.strip()):
        if len(question.options) <= _MAX_RUN_TOGETHER:
            numbers.extend(int(digit) for digit in token)
        elif token:
            numbers.append(int(token))
    return numbers


def _choice_parts(question: Question, typed: str) -> list[str]:
    """The pieces of a multiple answer: split on ";", and on "," when a piece is no option.

    Commas only split a piece that is neither digits nor one option's text ("Gọi điện, SMS"),
    so an option whose own text holds a comma is still found whole.
    """
    parts: list[str] = []
    for piece in (p.strip() for p in typed.split(";")):
        if not piece:
            continue
        if (
            "," in piece
            and _indexes(question, piece) is None
            and _match_option(question, piece) is None
        ):
            parts.extend(p.strip() for p in piece.split(",") if p.strip())
        else:
            parts.append(piece)
    return parts


def parse_answer(question: Question, text: str, *, number: int | None = None) -> Answer:
    """Read what a clerk typed in the entry grid for one question.

    Scale: one digit 1–5 (or "4/5"). Single: the option's number (1..N) or its text,
    ignoring case and accents ("chua chac"), or the start of only one option ("chua").
    Multiple: option numbers separated by spaces, commas or "+", or run together when there
    are at most nine options ("1 3", "1,3", "13"), or option texts/numbers separated by ";"
    (as `answer_text` writes them). Text: anything, cleaned. Blank means no answer.

    Args:
        question: the question answered.
        text: what was typed.
        number: the question's number on the form, to begin the message with "Câu 3: ".

    Returns:
        The answer in stored form (see the module docstring), None for no answer.

    Raises:
        AnswerProblem: a blank required answer, or an answer the question does not allow.
    """
    # Free text keeps its line breaks; each line is cleaned (NFC, single spaces).
    typed = "\n".join(line for line in map(clean_text, text.splitlines()) if line)
    if not typed:
        if question.required:
            raise _problem(question, number, "câu này bắt buộc, chưa có câu trả lời.")
        return None
    if question.kind == "text":
        return typed
    typed = " ".join(typed.split())
    count = len(question.options)
    if question.kind == "scale":
        typed = typed.removesuffix(f"/{SCALE_MAX}").strip()  # "4/5", as `answer_text` shows it
        if typed.isascii() and typed.isdigit() and SCALE_MIN <= int(typed) <= SCALE_MAX:
            return int(typed)
        raise _problem(question, number, f"chọn từ {SCALE_MIN} đến {SCALE_MAX}.")
    if question.kind == "single":
        if typed.isascii() and typed.isdigit():
            if 1 <= int(typed) <= count:
                return question.options[int(typed) - 1]
            raise _problem(question, number, f"chọn từ 1 đến {count}.")
        option = _match_option(question, typed)
        if option is None:
            raise _problem(
                question, number, f"'{typed}' không khớp lựa chọn nào; gõ số từ 1 đến {count}."
            )
        return option
    chosen: set[int] = set()
    for part in _choice_parts(question, typed):
        indexes = _indexes(question, part)
        if indexes is None:
            option = _match_option(question, part)
            if option is None:
                raise _problem(
                    question,
                    number,
                    f"'{part}' không khớp lựa chọn nào; gõ các số từ 1 đến {count}, ví dụ 1 3.",
                )
            chosen.add(question.options.index(option) + 1)
            continue
        bad = next((i for i in indexes if not 1 <= i <= count), None)
        if bad is not None:
            raise _problem(
                question, number, f"không có lựa chọn {bad}; gõ các số từ 1 đến {count}, ví dụ 1 3."
            )
        chosen.update(indexes)
    if not chosen:  # only separators typed
        if question.required:
            raise _problem(question, number, "câu này bắt buộc, chưa có câu trả lời.")
        return None
    return [question.options[i - 1] for i in sorted(chosen)]


def parse_answers(
    definition: SurveyDefinition, texts: Mapping[str, str]
) -> tuple[dict[str, Answer], dict[str, str]]:
    """Read one paper form's row of the entry grid: question key -> what was typed.

    Returns:
        (answers in stored form without the unanswered questions, {key: problem sentence}).
    """
    answers: dict[str, Answer] = {}
    problems: dict[str, str] = {}
    for number, question in enumerate(definition.questions, 1):
        try:
            value = parse_answer(question, texts.get(question.key, ""), number=number)
        except AnswerProblem as exc:
            problems[question.key] = str(exc)
            continue
        if value is not None:
            answers[question.key] = value
    return answers, problems


def answer_text(question: Question, value: object) -> str:
    """A stored answer as readable text: "4/5", the option, options joined by "; ", the text.

    Blank for no answer. The result parses back to the same answer with `parse_answer`.
    """
    if value is None or value == "" or value == []:
        return ""
    if question.kind == "scale" and isinstance(value, int) and not isinstance(value, bool):
        return f"{value}/{SCALE_MAX}"
    if isinstance(value, list | tuple):
        return "; ".join(str(item) for item in value)
    return str(value)


def _stored_problem(question: Question, value: object) -> str | None:
    """What is wrong with a stored (JSON) answer to `question`, without the "Câu N: " prefix."""
    if question.kind == "scale":
        if isinstance(value, bool) or not isinstance(value, int):
            return f"câu trả lời phải là một số từ {SCALE_MIN} đến {SCALE_MAX}."
        if not SCALE_MIN <= value <= SCALE_MAX:
            return f"điểm {value} nằm ngoài {SCALE_MIN}–{SCALE_MAX}."
        return None
    if question.kind == "single":
        if not isinstance(value, str) or value not in question.options:
            return f"'{value}' không phải một lựa chọn của câu này."
        return None
    if question.kind == "multiple":
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            return "câu trả lời phải là danh sách các lựa chọn."
        unknown = [item for item in value if item not in question.options]
        if unknown:
            return f"'{unknown[0]}' không phải một lựa chọn của câu này."
        if len(set(value)) != len(value):
            return "một lựa chọn được ghi hai lần."
        return None
    if not isinstance(value, str):
        return "câu trả lời phải là chữ."
    return None


def validate_answers(definition: SurveyDefinition, answers: Mapping[str, object]) -> dict[str, str]:
    """Check one customer's stored answers against the form.

    Returns:
        {question key: sentence} for each problem; empty when the response is complete and
        every answer fits. An answer to a question the form does not have is reported under
        its own key.
    """
    problems: dict[str, str] = {}
    for number, question in enumerate(definition.questions, 1):
        value = answers.get(question.key)
        if value is None or value == "" or value == []:
            if question.required:
                problems[question.key] = f"Câu {number}: câu bắt buộc chưa được trả lời."
            continue
        problem = _stored_problem(question, value)
        if problem:
            problems[question.key] = f"Câu {number}: {problem}"
    known = {question.key for question in definition.questions}
    for key in answers:
        if key not in known:
            problems[key] = f"Câu hỏi '{key}' không có trong phiếu khảo sát."
    return problems
