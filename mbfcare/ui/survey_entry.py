"""Typing a stack of paper survey forms: scan the form's code, type the answers, Enter, next.

The grid follows the printed form: one row per question in the same order, the answer typed
in the keyboard shorthand (a digit for a score, option numbers for choices, words for text),
with a live hint saying what was understood. Enter moves to the next question; Enter on the
last one (or Ctrl+Enter anywhere) saves, and the dialog is ready for the next form with the
cursor back in the scan field.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from PySide6.QtCore import QDate, Qt, Signal, Slot
from PySide6.QtGui import QFont, QKeySequence, QPalette, QShortcut
from PySide6.QtWidgets import (
    QDateEdit,
    QDialog,
    QFormLayout,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy.orm import Session, sessionmaker

from mbfcare.domain.actors import Actor
from mbfcare.domain.survey import (
    SCALE_MAX,
    SCALE_MIN,
    AnswerProblem,
    Question,
    SurveyDefinition,
    answer_text,
    parse_answer,
    parse_answers,
)
from mbfcare.domain.values import format_date, format_number
from mbfcare.errors import MbfCareError
from mbfcare.services import surveys
from mbfcare.services.surveys import SaveResult, SurveyCaseDTO, SurveyFormDTO
from mbfcare.ui import messages
from mbfcare.ui.tasks import TaskProgress, TaskRunner

OK_COLOUR = "#1e6b30"
WARN_COLOUR = "#8a5300"
ERROR_COLOUR = "#b3261e"
_HINT_WIDTH = 260


def _colour(label: QLabel, colour: str | None) -> None:
    label.setStyleSheet(f"color: {colour};" if colour else "")


# --------------------------------------------------------------------------- workers


def _load_form(factory: sessionmaker[Session], programme_id: int,
               _progress: TaskProgress) -> SurveyFormDTO:
    """Worker: the programme's form. No UI calls here."""
    return surveys.survey_form(factory, programme_id)


def _lookup(factory: sessionmaker[Session], programme_id: int, text: str | int, actor: Actor,
            _progress: TaskProgress) -> SurveyCaseDTO:
    """Worker: the customer a scan names. No UI calls here."""
    return surveys.lookup_case(factory, programme_id, text, actor=actor)


def _save(factory: sessionmaker[Session], programme_id: int, case_id: int,
          answers: dict[str, Any], actor: Actor, answered_on: dt.date, reason: str,
          _progress: TaskProgress) -> SaveResult:
    """Worker: store the answers and the survey step. No UI calls here."""
    return surveys.save_response(factory, programme_id, case_id, answers, actor=actor,
                                 answered_on=answered_on, reason=reason)


# --------------------------------------------------------------------------- the dialog


class SurveyEntryDialog(QDialog):
    """The entry grid for paper survey forms; stays open for the next form (Esc closes).

    Signals:
        saved(object): the `SaveResult` of each form stored.
    """

    saved = Signal(object)

    def __init__(self, factory: sessionmaker[Session], runner: TaskRunner, actor: Actor,
                 programme_id: int, case_id: int | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._factory, self._runner, self._actor = factory, runner, actor
        self._programme_id = programme_id
        self._start_case = case_id
        self.form: SurveyFormDTO | None = None
        self.case: SurveyCaseDTO | None = None
        self.saved_count = 0
        self._busy = False
        self.answer_edits: list[QLineEdit] = []
        self.hint_labels: list[QLabel] = []
        self.setWindowTitle(self.tr("Nhập phiếu khảo sát"))

        layout = QVBoxLayout(self)
        scan_row = QHBoxLayout()
        scan_label = QLabel(self.tr("&Quét mã phiếu hoặc nhập số thuê bao:"))
        self.scan_edit = QLineEdit()
        self.scan_edit.setPlaceholderText(self.tr("MBFC-S-… hoặc 0912 345 678"))
        self.scan_edit.setClearButtonEnabled(True)
        self.scan_edit.returnPressed.connect(self._on_scan_return_pressed)
        scan_label.setBuddy(self.scan_edit)
        scan_row.addWidget(scan_label)
        scan_row.addWidget(self.scan_edit, 1)
        layout.addLayout(scan_row)

        self.customer_label = QLabel(self.tr("Chưa chọn khách hàng."))
        bold = QFont(self.customer_label.font())
        bold.setBold(True)
        bold.setPointSizeF(bold.pointSizeF() * 1.15)
        self.customer_label.setFont(bold)
        self.customer_label.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.customer_label)
        self.customer_note = QLabel()
        self.customer_note.setWordWrap(True)
        layout.addWidget(self.customer_note)

        details = QFormLayout()
        details.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
        self.date_edit = QDateEdit()
        self.date_edit.setDisplayFormat("dd/MM/yyyy")
        self.date_edit.setCalendarPopup(True)
        self.date_edit.setDate(QDate.currentDate())
        self.date_edit.setMaximumWidth(160)
        details.addRow(self.tr("&Ngày khảo sát:"), self.date_edit)
        self.reason_label = QLabel(self.tr("&Lý do sửa phiếu:"))
        self.reason_edit = QLineEdit()
        self.reason_edit.setPlaceholderText(self.tr("bắt buộc khi sửa phiếu đã nhập"))
        self.reason_edit.setMinimumWidth(480)
        self.reason_edit.returnPressed.connect(self._save)
        self.reason_label.setBuddy(self.reason_edit)
        details.addRow(self.reason_label, self.reason_edit)
        layout.addLayout(details)
        self._set_reason_visible(False)

        self.title_label = QLabel()
        self.title_label.setWordWrap(True)
        layout.addWidget(self.title_label)
        self._grid_host = QWidget()
        self._grid = QGridLayout(self._grid_host)
        self._grid.setColumnStretch(1, 1)
        self._grid.setVerticalSpacing(10)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.StyledPanel)
        scroll.setWidget(self._grid_host)
        layout.addWidget(scroll, 1)

        self.status_label = QLabel()
        self.status_label.setWordWrap(True)
        layout.addWidget(self.status_label)
        buttons = QHBoxLayout()
        self.count_label = QLabel()
        self.save_button = QPushButton(self.tr("Lưu phiếu (Ctrl+Enter)"))
        self.new_button = QPushButton(self.tr("Phiếu khác"))
        self.new_button.setToolTip(self.tr("Bỏ phiếu đang nhập, quét phiếu khác"))
        close = QPushButton(self.tr("Đóng (Esc)"))
        for button in (self.save_button, self.new_button, close):
            button.setAutoDefault(False)
            button.setDefault(False)
        self.save_button.clicked.connect(self._save)
        self.new_button.clicked.connect(self._on_new_button_clicked)
        close.clicked.connect(self.reject)
        buttons.addWidget(self.count_label)
        buttons.addStretch(1)
        buttons.addWidget(self.new_button)
        buttons.addWidget(self.save_button)
        buttons.addWidget(close)
        layout.addLayout(buttons)
        for keys in ("Ctrl+Return", "Ctrl+Enter"):
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.activated.connect(self._save)

        self._set_entry_enabled(False)
        self.resize(940, 720)
        self.scan_edit.setFocus()
        self._runner.start(lambda p: _load_form(factory, programme_id, p),
                           on_done=self._on_form_loaded, on_error=self._on_load_failed)

    # ----------------------------------------------------------------- building the grid

    def _legend(self, question: Question) -> str:
        if question.kind == "scale":
            low = f" {question.low}" if question.low else ""
            high = f" {question.high}" if question.high else ""
            text = f"{SCALE_MIN}{low} … {SCALE_MAX}{high}"
        elif question.kind == "text":
            text = self.tr("Ghi nguyên văn câu trả lời")
        else:
            text = " · ".join(f"{i} {option}" for i, option in enumerate(question.options, 1))
            if question.kind == "multiple":
                text += "  " + self.tr("(chọn nhiều: gõ các số, ví dụ 1 3)")
        if not question.required:
            text += "  " + self.tr("(không bắt buộc)")
        return text

    def _placeholder(self, question: Question) -> str:
        if question.kind == "scale":
            return f"{SCALE_MIN}–{SCALE_MAX}"
        if question.kind == "single":
            return f"1–{len(question.options)}"
        if question.kind == "multiple":
            return self.tr("ví dụ 1 3")
        return ""

    def _build_grid(self, definition: SurveyDefinition) -> None:
        self.title_label.setText(f"<b>{definition.title}</b>")
        muted = self.palette().color(QPalette.ColorRole.PlaceholderText).name()
        for number, question in enumerate(definition.questions, 1):
            row = number - 1
            label = QLabel(self.tr("Câu {n}").format(n=number))
            label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
            text = QLabel(question.text)
            text.setWordWrap(True)
            legend = QLabel(self._legend(question))
            legend.setWordWrap(True)
            legend.setStyleSheet(f"color: {muted};")
            small = QFont(legend.font())
            small.setPointSizeF(small.pointSizeF() * 0.92)
            small.setItalic(True)
            legend.setFont(small)
            cell = QVBoxLayout()
            cell.setSpacing(2)
            cell.addWidget(text)
            cell.addWidget(legend)
            edit = QLineEdit()
            edit.setPlaceholderText(self._placeholder(question))
            edit.setAccessibleName(self.tr("Câu {n}").format(n=number))
            edit.setMinimumWidth(200 if question.kind == "text" else 120)
            edit.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
            edit.textChanged.connect(lambda _text, i=row: self._update_hint(i))
            edit.returnPressed.connect(lambda i=row: self._on_answer_return(i))
            hint = QLabel()
            hint.setWordWrap(True)
            hint.setFixedWidth(_HINT_WIDTH)
            self._grid.addWidget(label, row, 0, Qt.AlignmentFlag.AlignTop)
            self._grid.addLayout(cell, row, 1)
            self._grid.addWidget(edit, row, 2, Qt.AlignmentFlag.AlignTop)
            self._grid.addWidget(hint, row, 3, Qt.AlignmentFlag.AlignTop)
            self.answer_edits.append(edit)
            self.hint_labels.append(hint)
        self._grid.setRowStretch(len(definition.questions), 1)
        # Tab order follows the paper: scan, questions, date, reason, buttons.
        previous: QWidget = self.scan_edit
        for edit in self.answer_edits:
            QWidget.setTabOrder(previous, edit)
            previous = edit
        for widget in (self.date_edit, self.reason_edit, self.save_button, self.new_button):
            QWidget.setTabOrder(previous, widget)
            previous = widget

    # ----------------------------------------------------------------- state

    @property
    def definition(self) -> SurveyDefinition | None:
        """The form being entered (None until loaded)."""
        return self.form.definition if self.form is not None else None

    def _set_entry_enabled(self, enabled: bool) -> None:
        for edit in self.answer_edits:
            edit.setEnabled(enabled)
        self.date_edit.setEnabled(enabled)
        self.reason_edit.setEnabled(enabled)
        self.save_button.setEnabled(enabled and not self._busy)

    def _set_reason_visible(self, visible: bool) -> None:
        self.reason_label.setVisible(visible)
        self.reason_edit.setVisible(visible)

    def _show_status(self, text: str, colour: str | None = None) -> None:
        self.status_label.setText(text)
        _colour(self.status_label, colour)

    def _clear_answers(self) -> None:
        for edit in self.answer_edits:
            edit.blockSignals(True)
            edit.clear()
            edit.blockSignals(False)
        for hint in self.hint_labels:
            hint.clear()
            hint.setToolTip("")

    def reset(self) -> None:
        """Ready for the next paper form: nothing loaded, the cursor in the scan field."""
        self.case = None
        self._clear_answers()
        self.reason_edit.clear()
        self._set_reason_visible(False)
        self.customer_label.setText(self.tr("Quét mã của phiếu tiếp theo."))
        self.customer_note.clear()
        self._set_entry_enabled(False)
        self.scan_edit.clear()
        self.scan_edit.setFocus()

    # ----------------------------------------------------------------- hints

    def _hint_for(self, question: Question, text: str) -> tuple[str, str | None]:
        """(text, colour) of the live hint for what is typed."""
        if not text.strip():
            return "", None
        try:
            value = parse_answer(question, text)
        except AnswerProblem as exc:
            return "✗ " + str(exc), ERROR_COLOUR
        if value is None:
            return "", None
        shown = answer_text(question, value)
        if question.kind == "scale" and isinstance(value, int):
            words = question.low if value == SCALE_MIN else \
                question.high if value == SCALE_MAX else ""
            if words:
                shown += f" · {words}"
        return "✓ " + shown, OK_COLOUR

    def _show_hint(self, index: int, text: str, colour: str | None) -> None:
        hint = self.hint_labels[index]
        hint.setText(text)
        hint.setToolTip(text)
        _colour(hint, colour)

    def _update_hint(self, index: int) -> None:
        definition = self.definition
        if definition is None:
            return
        text, colour = self._hint_for(definition.questions[index],
                                      self.answer_edits[index].text())
        self._show_hint(index, text, colour)

    def _check(self, index: int) -> bool:
        """Check one answer (blank required ones too); show the problem; True when fine."""
        definition = self.definition
        assert definition is not None
        question = definition.questions[index]
        try:
            parse_answer(question, self.answer_edits[index].text())
        except AnswerProblem as exc:
            self._show_hint(index, "✗ " + str(exc), ERROR_COLOUR)
            return False
        self._update_hint(index)
        return True

    # ----------------------------------------------------------------- slots

    def _on_form_loaded(self, form: SurveyFormDTO) -> None:
        self.form = form
        self._build_grid(form.definition)
        self._set_entry_enabled(False)
        if self._start_case is not None:
            self._start_lookup(self._start_case)
        else:
            self.scan_edit.setFocus()

    def _on_load_failed(self, exc: BaseException) -> None:
        if isinstance(exc, MbfCareError):
            self._show_status("✗ " + str(exc), ERROR_COLOUR)
        else:
            messages.show_error(self, exc)

    @Slot()
    def _on_scan_return_pressed(self) -> None:
        text = self.scan_edit.text().strip()
        if not text or self.form is None or self._busy:
            return
        self._start_lookup(text)

    def _start_lookup(self, text: str | int) -> None:
        self._busy = True
        self.customer_note.setText(self.tr("Đang tìm…"))
        _colour(self.customer_note, None)
        factory, pid, actor = self._factory, self._programme_id, self._actor
        self._runner.start(
            lambda p: _lookup(factory, pid, text, actor, p),
            on_done=self._on_case_loaded, on_error=self._on_lookup_failed)

    def _on_case_loaded(self, case: SurveyCaseDTO) -> None:
        self._busy = False
        self.case = case
        self._clear_answers()
        self.reason_edit.clear()
        self.customer_label.setText(case.title)
        self.date_edit.setDate(QDate(case.default_date.year, case.default_date.month,
                                     case.default_date.day))
        self.scan_edit.clear()
        response = case.response
        self._set_reason_visible(response is not None)
        problem = case.problem
        if problem:
            self.customer_note.setText("✗ " + problem)
            _colour(self.customer_note, ERROR_COLOUR)
            self._set_entry_enabled(False)
            self.scan_edit.setFocus()
            return
        if response is not None:
            self.customer_note.setText("⚠ " + self.tr(
                "Phiếu đã nhập ngày {day} (người nhập: {who}); lưu lại là sửa phiếu, cần ghi "
                "lý do.").format(day=format_date(response.answered_on),
                                   who=response.entered_by or "?"))
            _colour(self.customer_note, WARN_COLOUR)
            texts = response.texts()
            assert self.definition is not None
            for index, question in enumerate(self.definition.questions):
                self.answer_edits[index].setText(texts.get(question.key, ""))
        else:
            self.customer_note.setText(self.tr("Gõ câu trả lời theo phiếu giấy; Enter sang "
                                               "câu sau, Enter ở câu cuối để lưu."))
            _colour(self.customer_note, None)
        self._set_entry_enabled(True)
        if self.answer_edits:
            self.answer_edits[0].setFocus()
            self.answer_edits[0].selectAll()

    def _on_lookup_failed(self, exc: BaseException) -> None:
        self._busy = False
        if not isinstance(exc, MbfCareError):
            messages.show_error(self, exc)
            return
        self.case = None
        self._clear_answers()
        self._set_reason_visible(False)
        self._set_entry_enabled(False)
        self.customer_label.setText(self.tr("Chưa chọn khách hàng."))
        self.customer_note.setText("✗ " + str(exc))
        _colour(self.customer_note, ERROR_COLOUR)
        self.scan_edit.setFocus()
        self.scan_edit.selectAll()

    def _on_answer_return(self, index: int) -> None:
        if not self._check(index):
            self.answer_edits[index].selectAll()
            return
        if index + 1 < len(self.answer_edits):
            following = self.answer_edits[index + 1]
            following.setFocus()
            following.selectAll()
        else:
            self._save()

    @Slot()
    def _on_new_button_clicked(self) -> None:
        self._show_status("")
        self.reset()

    @Slot()
    def _save(self) -> None:
        """Check every answer and store the form (Enter on the last question, Ctrl+Enter)."""
        definition, case = self.definition, self.case
        if self._busy or definition is None:
            return
        if case is None:
            self._show_status("✗ " + self.tr("Quét mã phiếu (hoặc nhập số thuê bao) trước."),
                              ERROR_COLOUR)
            self.scan_edit.setFocus()
            return
        if case.problem:
            self.scan_edit.setFocus()
            return
        texts = {q.key: edit.text() for q, edit in zip(definition.questions,
                                                          self.answer_edits, strict=True)}
        answers, problems = parse_answers(definition, texts)
        if problems:
            first = None
            for index, question in enumerate(definition.questions):
                if question.key in problems:
                    self._show_hint(index, "✗ " + problems[question.key], ERROR_COLOUR)
                    first = index if first is None else first
            assert first is not None
            self._show_status("✗ " + self.tr("Còn {n} câu chưa đúng; sửa rồi lưu lại.").format(
                n=len(problems)), ERROR_COLOUR)
            self.answer_edits[first].setFocus()
            self.answer_edits[first].selectAll()
            return
        reason = self.reason_edit.text().strip()
        if case.response is not None and not reason:
            self._show_status("✗ " + self.tr("Phiếu này đã nhập: ghi lý do sửa rồi lưu."),
                              ERROR_COLOUR)
            self.reason_edit.setFocus()
            return
        day = self.date_edit.date().toPython()
        assert isinstance(day, dt.date)
        self._busy = True
        self.save_button.setEnabled(False)
        self._show_status(self.tr("Đang lưu…"))
        factory, pid, actor = self._factory, self._programme_id, self._actor
        self._runner.start(
            lambda p: _save(factory, pid, case.case_id, answers, actor, day, reason, p),
            on_done=self._on_saved, on_error=self._on_save_failed)

    def _on_saved(self, result: SaveResult) -> None:
        self._busy = False
        self.saved_count += 1
        text = self.tr("Đã lưu phiếu của {who}.").format(who=result.who) if result.changed \
            else result.text
        self._show_status("✓ " + text, OK_COLOUR)
        self.count_label.setText(self.tr("Đã nhập {n} phiếu trong lần này.").format(
            n=format_number(self.saved_count)))
        messages.notify(self.parentWidget(), text)
        self.saved.emit(result)
        self.reset()

    def _on_save_failed(self, exc: BaseException) -> None:
        self._busy = False
        self.save_button.setEnabled(self.case is not None)
        if not isinstance(exc, MbfCareError):
            messages.show_error(self, exc)
            return
        self._show_status("✗ " + str(exc), ERROR_COLOUR)
        if self.answer_edits:
            self.answer_edits[-1].setFocus()
