"""Editing a programme's survey form: its questions, their kinds, options and order.

A table lists the questions in the printed order; the panel beside it edits the selected one.
Problems show at once, on the question's row (an icon and a tooltip) and in one sentence under
the table, and the form cannot be saved until they are fixed. Saving makes a new version of
the form; answers already typed stay with the version they answered.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QCoreApplication,
    QItemSelectionModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRegularExpression,
    Qt,
    Signal,
    Slot,
)
from PySide6.QtGui import QKeySequence, QRegularExpressionValidator, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QCheckBox,
    QComboBox,
    QDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QStyle,
    QTableView,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy.orm import Session, sessionmaker

from mbfcare.domain.actors import Actor
from mbfcare.domain.survey import (
    CHOICE_KINDS,
    KINDS,
    Question,
    SurveyDefinition,
    SurveyProblem,
    check_survey,
    load_survey,
    survey_to_dict,
)
from mbfcare.domain.values import format_number
from mbfcare.errors import MbfCareError
from mbfcare.services import surveys
from mbfcare.services.surveys import SurveyFormDTO
from mbfcare.ui import messages
from mbfcare.ui.tasks import TaskProgress, TaskRunner

_CONTEXT = "SurveyQuestionsModel"
ERROR_COLOUR = "#b3261e"
WARN_COLOUR = "#8a5300"

_LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
_CENTER = Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignVCenter


def QT_TRANSLATE_NOOP(context: str, text: str) -> str:
    """Mark `text` for lupdate and return it untranslated (typed, unlike PySide6's own)."""
    return text


KIND_TEXT = {
    "scale": QT_TRANSLATE_NOOP("SurveyQuestionsModel", "Thang điểm 1–5"),
    "single": QT_TRANSLATE_NOOP("SurveyQuestionsModel", "Chọn một"),
    "multiple": QT_TRANSLATE_NOOP("SurveyQuestionsModel", "Chọn nhiều"),
    "text": QT_TRANSLATE_NOOP("SurveyQuestionsModel", "Trả lời tự do"),
}
HEADERS = (
    QT_TRANSLATE_NOOP("SurveyQuestionsModel", "Câu"),
    QT_TRANSLATE_NOOP("SurveyQuestionsModel", "Khóa"),
    QT_TRANSLATE_NOOP("SurveyQuestionsModel", "Câu hỏi"),
    QT_TRANSLATE_NOOP("SurveyQuestionsModel", "Loại"),
    QT_TRANSLATE_NOOP("SurveyQuestionsModel", "Lựa chọn / nhãn"),
    QT_TRANSLATE_NOOP("SurveyQuestionsModel", "Bắt buộc"),
)


def tr(text: str) -> str:
    """The translation of a source text of the questions model."""
    return QCoreApplication.translate(_CONTEXT, text)


# --------------------------------------------------------------------------- one question


@dataclass(frozen=True)
class EditableQuestion:
    """A question as typed in the editor: it keeps the options and the scale words even while
    its kind is switched to one that does not use them, so switching back loses nothing."""

    key: str
    text: str = ""
    kind: str = "scale"
    options: tuple[str, ...] = ()
    low: str = ""
    high: str = ""
    required: bool = True

    @classmethod
    def of(cls, question: Question) -> EditableQuestion:
        """From a stored question."""
        return cls(question.key, question.text, question.kind, question.options,
                   question.low, question.high, question.required)

    def question(self) -> Question:
        """The question as it will be stored: only the fields its kind uses."""
        scale = self.kind == "scale"
        return Question(
            key=self.key.strip(), text=" ".join(self.text.split()), kind=self.kind,
            options=tuple(o.strip() for o in self.options if o.strip())
            if self.kind in CHOICE_KINDS else (),
            low=self.low.strip() if scale else "", high=self.high.strip() if scale else "",
            required=self.required)

    def summary(self) -> str:
        """The options (or the scale's words) in one line for the table."""
        question = self.question()
        if question.kind in CHOICE_KINDS:
            return " · ".join(f"{i} {o}" for i, o in enumerate(question.options, 1))
        if question.kind == "scale" and (question.low or question.high):
            return f"1 {question.low or '…'} … 5 {question.high or '…'}"
        return ""


_NUMBER_PREFIX = re.compile(r"^Câu 1\b")


def row_problems(rows: list[EditableQuestion]) -> dict[int, str]:
    """{row: the sentence of its first problem} for the questions that cannot be saved."""
    problems: dict[int, str] = {}
    seen: set[str] = set()
    for row, item in enumerate(rows):
        question = item.question()
        try:
            check_survey(SurveyDefinition("x", "", (question,)))
        except SurveyProblem as exc:
            problems[row] = _NUMBER_PREFIX.sub(f"Câu {row + 1}", str(exc))
            continue
        if question.key in seen:
            problems[row] = (f"Câu {row + 1} ({question.key}): khóa '{question.key}' bị trùng "
                             "với một câu trước.")
        seen.add(question.key)
    return problems


# --------------------------------------------------------------------------- the model


class SurveyQuestionsModel(QAbstractTableModel):
    """The form's questions in order, one row each; a row with a problem carries an icon
    and the sentence as its tooltip."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[EditableQuestion] = []
        self._problems: dict[int, str] = {}
        self._icon: Any = None

    # -- reading

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole \
                and 0 <= section < len(HEADERS):
            return tr(HEADERS[section])
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex,
             role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        item = self._rows[index.row()]
        column = index.column()
        problem = self._problems.get(index.row())
        if role == Qt.ItemDataRole.DisplayRole:
            return (str(index.row() + 1), item.key, " ".join(item.text.split()),
                    tr(KIND_TEXT.get(item.kind, item.kind)), item.summary(),
                    tr(QT_TRANSLATE_NOOP("SurveyQuestionsModel", "Có")) if item.required
                    else tr(QT_TRANSLATE_NOOP("SurveyQuestionsModel", "Không")))[column]
        if role == Qt.ItemDataRole.ToolTipRole:
            if problem:
                return problem
            return item.text if column == 2 else item.summary() if column == 4 else None
        if role == Qt.ItemDataRole.DecorationRole and column == 0 and problem:
            return self._problem_icon()
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _CENTER if column in (0, 5) else _LEFT
        return None

    def _problem_icon(self) -> Any:
        if self._icon is None:
            self._icon = QApplication.style().standardIcon(
                QStyle.StandardPixmap.SP_MessageBoxWarning)
        return self._icon

    def questions(self) -> list[EditableQuestion]:
        """The rows, in order."""
        return list(self._rows)

    def question_at(self, row: int) -> EditableQuestion:
        """One row."""
        return self._rows[row]

    def problems(self) -> dict[int, str]:
        """{row: problem sentence} of the rows that cannot be saved."""
        return dict(self._problems)

    # -- changing

    def _recheck(self) -> None:
        before = self._problems
        self._problems = row_problems(self._rows)
        changed = {r for r in set(before) | set(self._problems)
                   if before.get(r) != self._problems.get(r)}
        for row in sorted(changed):
            if row < len(self._rows):
                self.dataChanged.emit(self.index(row, 0), self.index(row, len(HEADERS) - 1))

    def set_questions(self, rows: list[EditableQuestion]) -> None:
        """Replace every row."""
        self.beginResetModel()
        self._rows = list(rows)
        self._problems = row_problems(self._rows)
        self.endResetModel()

    def update_row(self, row: int, item: EditableQuestion) -> None:
        """Replace one row."""
        if self._rows[row] == item:
            return
        self._rows[row] = item
        self.dataChanged.emit(self.index(row, 0), self.index(row, len(HEADERS) - 1))
        self._recheck()

    def insert_row(self, row: int, item: EditableQuestion) -> None:
        """Insert a row before `row` (at the end when `row` is the row count)."""
        self.beginInsertRows(QModelIndex(), row, row)
        self._rows.insert(row, item)
        self.endInsertRows()
        self._renumber_from(row)

    def remove_row(self, row: int) -> None:
        """Remove one row."""
        self.beginRemoveRows(QModelIndex(), row, row)
        del self._rows[row]
        self.endRemoveRows()
        self._renumber_from(row)

    def move_row(self, row: int, delta: int) -> int:
        """Move a row up (-1) or down (+1); returns its new row (the same when at an end)."""
        target = row + delta
        if not 0 <= target < len(self._rows) or delta not in (-1, 1):
            return row
        # Qt's destination is the row before which the moved row lands, in the old numbering.
        destination = target if delta < 0 else target + 1
        self.beginMoveRows(QModelIndex(), row, row, QModelIndex(), destination)
        self._rows[row], self._rows[target] = self._rows[target], self._rows[row]
        self.endMoveRows()
        self._renumber_from(min(row, target))
        return target

    def _renumber_from(self, row: int) -> None:
        """The numbers (and the problems' "Câu N") of the rows from `row` changed."""
        self._problems = row_problems(self._rows)
        if row < len(self._rows):
            self.dataChanged.emit(self.index(row, 0),
                                  self.index(len(self._rows) - 1, len(HEADERS) - 1))


# --------------------------------------------------------------------------- workers


def _load(factory: sessionmaker[Session], programme_id: int,
          _progress: TaskProgress) -> SurveyFormDTO:
    """Worker: the programme's form with how many answered each question."""
    return surveys.survey_form(factory, programme_id, with_counts=True)


def _update(factory: sessionmaker[Session], programme_id: int, data: dict[str, Any],
            actor: Actor, _progress: TaskProgress) -> SurveyFormDTO:
    """Worker: store the new version of the form."""
    return surveys.update_survey_form(factory, programme_id, data, actor)


# --------------------------------------------------------------------------- the editor


class SurveyFormEditor(QWidget):
    """The programme's survey form, editable (for roles that may manage the programme).

    Signals:
        saved(object): the `SurveyFormDTO` of the version just stored.
    """

    saved = Signal(object)

    def __init__(self, factory: sessionmaker[Session], runner: TaskRunner, actor: Actor,
                 programme_id: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._factory, self._runner, self._actor = factory, runner, actor
        self._programme_id = programme_id
        self.loaded: SurveyFormDTO | None = None
        self._filling = False
        self._busy = False
        self._may_edit = actor.may("manage")

        layout = QVBoxLayout(self)
        head = QFormLayout()
        self.title_edit = QLineEdit()
        head.addRow(self.tr("&Tiêu đề phiếu:"), self.title_edit)
        self.intro_edit = QPlainTextEdit()
        self.intro_edit.setTabChangesFocus(True)
        self.intro_edit.setFixedHeight(self.fontMetrics().lineSpacing() * 4)
        head.addRow(self.tr("Lời &giới thiệu:"), self.intro_edit)
        layout.addLayout(head)

        self.model = SurveyQuestionsModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        for column, width in ((0, 52), (1, 110), (3, 110), (4, 170), (5, 70)):
            self.table.setColumnWidth(column, width)
        self.table.selectionModel().currentRowChanged.connect(self._on_current_row_changed)

        detail = QGroupBox(self.tr("Câu đang chọn"))
        form = QFormLayout(detail)
        self.key_edit = QLineEdit()
        self.key_edit.setValidator(QRegularExpressionValidator(
            QRegularExpression("[a-z][a-z0-9_]{0,39}"), self.key_edit))
        self.key_edit.setToolTip(self.tr("Chữ thường không dấu, số hoặc '_'; câu trả lời được "
                                         "lưu theo khóa này."))
        form.addRow(self.tr("&Khóa:"), self.key_edit)
        self.text_edit = QPlainTextEdit()
        self.text_edit.setTabChangesFocus(True)
        self.text_edit.setFixedHeight(self.fontMetrics().lineSpacing() * 4)
        form.addRow(self.tr("&Câu hỏi:"), self.text_edit)
        self.kind_combo = QComboBox()
        for kind in KINDS:
            self.kind_combo.addItem(tr(KIND_TEXT[kind]), kind)
        form.addRow(self.tr("&Loại:"), self.kind_combo)
        self.options_label = QLabel(self.tr("Lựa c&họn\n(mỗi dòng một):"))
        self.options_edit = QPlainTextEdit()
        self.options_edit.setTabChangesFocus(True)
        self.options_label.setBuddy(self.options_edit)
        form.addRow(self.options_label, self.options_edit)
        self.low_label = QLabel(self.tr("Nhãn điểm 1:"))
        self.low_edit = QLineEdit()
        self.low_edit.setPlaceholderText(self.tr("ví dụ: Rất không hài lòng"))
        form.addRow(self.low_label, self.low_edit)
        self.high_label = QLabel(self.tr("Nhãn điểm 5:"))
        self.high_edit = QLineEdit()
        self.high_edit.setPlaceholderText(self.tr("ví dụ: Rất hài lòng"))
        form.addRow(self.high_label, self.high_edit)
        self.required_check = QCheckBox(self.tr("&Bắt buộc trả lời"))
        form.addRow("", self.required_check)
        self.answers_note = QLabel()
        self.answers_note.setWordWrap(True)
        form.addRow("", self.answers_note)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.table, 1)
        moves = QHBoxLayout()
        self.add_button = QPushButton(self.tr("Thêm câu (Ins)"))
        self.remove_button = QPushButton(self.tr("Xóa câu (Del)"))
        self.up_button = QPushButton(self.tr("Lên (Alt+↑)"))
        self.down_button = QPushButton(self.tr("Xuống (Alt+↓)"))
        for button in (self.add_button, self.remove_button, self.up_button, self.down_button):
            button.setAutoDefault(False)
            moves.addWidget(button)
        moves.addStretch(1)
        left_layout.addLayout(moves)
        splitter.addWidget(left)
        splitter.addWidget(detail)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([680, 400])
        layout.addWidget(splitter, 1)

        self.problems_label = QLabel()
        self.problems_label.setWordWrap(True)
        self.problems_label.setStyleSheet(f"color: {ERROR_COLOUR};")
        layout.addWidget(self.problems_label)
        bottom = QHBoxLayout()
        self.version_label = QLabel(self.tr("Đang tải phiếu khảo sát…"))
        self.default_button = QPushButton(self.tr("Nạp mẫu mặc định"))
        self.revert_button = QPushButton(self.tr("Bỏ thay đổi"))
        self.save_button = QPushButton(self.tr("Lưu (Ctrl+S)"))
        for button in (self.default_button, self.revert_button, self.save_button):
            button.setAutoDefault(False)
        bottom.addWidget(self.version_label, 1)
        bottom.addWidget(self.default_button)
        bottom.addWidget(self.revert_button)
        bottom.addWidget(self.save_button)
        layout.addLayout(bottom)

        self.add_button.clicked.connect(self.add_question)
        self.remove_button.clicked.connect(self.remove_question)
        self.up_button.clicked.connect(lambda: self.move_question(-1))
        self.down_button.clicked.connect(lambda: self.move_question(1))
        self.default_button.clicked.connect(self._on_default_button_clicked)
        self.revert_button.clicked.connect(self._on_revert_button_clicked)
        self.save_button.clicked.connect(self.save)
        for keys, slot in ((QKeySequence("Ins"), self.add_question),
                           (QKeySequence("Alt+Up"), lambda: self.move_question(-1)),
                           (QKeySequence("Alt+Down"), lambda: self.move_question(1)),
                           (QKeySequence(QKeySequence.StandardKey.Save), self.save)):
            QShortcut(keys, self, slot, context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
        QShortcut(QKeySequence(QKeySequence.StandardKey.Delete), self.table,
                  self.remove_question, context=Qt.ShortcutContext.WidgetShortcut)

        self.title_edit.textChanged.connect(self._refresh)
        self.intro_edit.textChanged.connect(self._refresh)
        self.key_edit.textChanged.connect(self._on_detail_edited)
        self.text_edit.textChanged.connect(self._on_detail_edited)
        self.kind_combo.currentIndexChanged.connect(self._on_detail_edited)
        self.options_edit.textChanged.connect(self._on_detail_edited)
        self.low_edit.textChanged.connect(self._on_detail_edited)
        self.high_edit.textChanged.connect(self._on_detail_edited)
        self.required_check.toggled.connect(self._on_detail_edited)

        self._set_editable(False)
        self.reload()

    # ----------------------------------------------------------------- loading

    def reload(self) -> None:
        """Read the stored form again (dropping unsaved edits)."""
        factory, pid = self._factory, self._programme_id
        self._runner.start(lambda p: _load(factory, pid, p), on_done=self._on_loaded,
                           on_error=self._on_failed)

    def _on_loaded(self, form: SurveyFormDTO) -> None:
        self.loaded = form
        self._fill(form.definition)
        self._set_editable(self._may_edit)

    def _fill(self, definition: SurveyDefinition) -> None:
        self._filling = True
        try:
            self.title_edit.setText(definition.title)
            self.intro_edit.setPlainText(definition.intro)
            self.model.set_questions([EditableQuestion.of(q) for q in definition.questions])
        finally:
            self._filling = False
        if self.model.rowCount():
            self.table.selectRow(0)
        self._fill_detail(self.table.currentIndex().row())
        self._refresh()

    def _set_editable(self, editable: bool) -> None:
        for line in (self.title_edit, self.key_edit, self.low_edit, self.high_edit):
            line.setReadOnly(not editable)
        for plain in (self.intro_edit, self.text_edit, self.options_edit):
            plain.setReadOnly(not editable)
        for widget in (self.kind_combo, self.required_check, self.add_button,
                       self.remove_button, self.up_button, self.down_button,
                       self.default_button):
            widget.setEnabled(editable)
        self._refresh()

    # ----------------------------------------------------------------- the selected question

    def current_row(self) -> int:
        """The selected question's row (-1 when none)."""
        return self.table.currentIndex().row()

    @Slot(QModelIndex, QModelIndex)
    def _on_current_row_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self._fill_detail(current.row())

    def _fill_detail(self, row: int) -> None:
        self._filling = True
        try:
            has_row = 0 <= row < self.model.rowCount()
            item = self.model.question_at(row) if has_row else EditableQuestion("")
            self.key_edit.setText(item.key)
            self.text_edit.setPlainText(item.text)
            self.kind_combo.setCurrentIndex(max(0, self.kind_combo.findData(item.kind)))
            self.options_edit.setPlainText("\n".join(item.options))
            self.low_edit.setText(item.low)
            self.high_edit.setText(item.high)
            self.required_check.setChecked(item.required)
            for widget in (self.key_edit, self.text_edit, self.kind_combo, self.options_edit,
                           self.low_edit, self.high_edit, self.required_check):
                widget.setEnabled(has_row)
            self._show_kind_fields(item.kind)
            count = self.loaded.answer_counts.get(item.key, 0) if self.loaded else 0
            self.answers_note.setText(self.tr(
                "⚠ {n} phiếu đã trả lời câu này: sửa hay bỏ câu thì các phiếu đó vẫn giữ "
                "theo phiên bản cũ.").format(n=format_number(count)) if has_row and count
                else "")
            self.answers_note.setStyleSheet(f"color: {WARN_COLOUR};")
        finally:
            self._filling = False

    def _show_kind_fields(self, kind: str) -> None:
        choice, scale = kind in CHOICE_KINDS, kind == "scale"
        for widget in (self.options_label, self.options_edit):
            widget.setVisible(choice)
        for scale_widget in (self.low_label, self.low_edit, self.high_label, self.high_edit):
            scale_widget.setVisible(scale)

    def _detail_question(self) -> EditableQuestion:
        return EditableQuestion(
            key=self.key_edit.text(), text=self.text_edit.toPlainText(),
            kind=str(self.kind_combo.currentData()),
            options=tuple(line.strip() for line in self.options_edit.toPlainText().splitlines()
                          if line.strip()),
            low=self.low_edit.text(), high=self.high_edit.text(),
            required=self.required_check.isChecked())

    @Slot()
    def _on_detail_edited(self) -> None:
        if self._filling:
            return
        row = self.current_row()
        if not 0 <= row < self.model.rowCount():
            return
        item = self._detail_question()
        self._show_kind_fields(item.kind)
        self.model.update_row(row, item)
        self._refresh()

    # ----------------------------------------------------------------- add, remove, move

    def _new_key(self) -> str:
        keys = {q.key for q in self.model.questions()}
        n = self.model.rowCount() + 1
        while f"cau_{n}" in keys:
            n += 1
        return f"cau_{n}"

    @Slot()
    def add_question(self) -> None:
        """A new question after the selected one (scale, required), ready to type its text."""
        if not self._may_edit or self.loaded is None:
            return
        row = self.current_row() + 1 if self.current_row() >= 0 else self.model.rowCount()
        self.model.insert_row(row, EditableQuestion(self._new_key()))
        self.table.selectRow(row)
        self._refresh()
        self.text_edit.setFocus()

    @Slot()
    def remove_question(self) -> None:
        """Remove the selected question (asking first when some responses answered it)."""
        row = self.current_row()
        if not self._may_edit or not 0 <= row < self.model.rowCount():
            return
        item = self.model.question_at(row)
        count = self.loaded.answer_counts.get(item.key, 0) if self.loaded else 0
        if count and not messages.confirm(self, self.tr(
                "Câu {n} ('{key}') đã có {count} phiếu trả lời. Bỏ câu này khỏi phiếu? Các câu "
                "trả lời cũ vẫn giữ theo phiên bản đã trả lời.").format(
                n=row + 1, key=item.key, count=format_number(count))):
            return
        self.model.remove_row(row)
        if self.model.rowCount():
            self.table.selectRow(min(row, self.model.rowCount() - 1))
        else:
            self._fill_detail(-1)
        self._refresh()

    def move_question(self, delta: int) -> None:
        """Move the selected question up (-1) or down (+1) in the printed order."""
        row = self.current_row()
        if not self._may_edit or not 0 <= row < self.model.rowCount():
            return
        target = self.model.move_row(row, delta)
        self.table.selectionModel().setCurrentIndex(
            self.model.index(target, 0),
            QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows)
        self._refresh()

    # ----------------------------------------------------------------- the whole form

    def definition(self) -> SurveyDefinition:
        """The form as it stands in the editor (not checked)."""
        return SurveyDefinition(
            title=" ".join(self.title_edit.text().split()),
            intro="\n".join(line.strip() for line in self.intro_edit.toPlainText().splitlines()
                            if line.strip()),
            questions=tuple(item.question() for item in self.model.questions()))

    def problem(self) -> str:
        """The first problem that keeps the form from being saved (blank when none)."""
        rows = self.model.problems()
        if rows:
            return rows[min(rows)]
        try:
            check_survey(self.definition())
        except SurveyProblem as exc:
            return str(exc)
        return ""

    def is_dirty(self) -> bool:
        """Whether the editor holds changes not saved yet."""
        if self.loaded is None:
            return False
        return survey_to_dict(self.definition()) != survey_to_dict(self.loaded.definition)

    def _refresh(self) -> None:
        if self._filling:
            return
        problem = self.problem() if self.loaded is not None else ""
        self.problems_label.setText("✗ " + problem if problem else "")
        dirty = self.is_dirty()
        row = self.current_row()
        count = self.model.rowCount()
        self.remove_button.setEnabled(self._may_edit and 0 <= row < count)
        self.up_button.setEnabled(self._may_edit and row > 0)
        self.down_button.setEnabled(self._may_edit and 0 <= row < count - 1)
        self.save_button.setEnabled(self._may_edit and dirty and not problem and not self._busy)
        self.revert_button.setEnabled(self._may_edit and dirty and not self._busy)
        if self.loaded is None:
            return
        text = self.tr("Phiên bản {v} · {n} phiếu đã nhập").format(
            v=self.loaded.version, n=format_number(self.loaded.responses))
        if dirty:
            text += " · " + self.tr("có thay đổi chưa lưu")
        if not self._may_edit:
            text += " · " + self.tr("vai trò của bạn chỉ được xem phiếu khảo sát")
        self.version_label.setText(text)

    @Slot()
    def _on_default_button_clicked(self) -> None:
        if messages.confirm(self, self.tr(
                "Thay phiếu đang sửa bằng phiếu mẫu mặc định? Chỉ lưu khi bấm «Lưu».")):
            self._fill(load_survey())

    @Slot()
    def _on_revert_button_clicked(self) -> None:
        if self.loaded is not None:
            self._fill(self.loaded.definition)

    @Slot()
    def save(self) -> None:
        """Store the form as a new version (asking first when answered questions change)."""
        loaded = self.loaded
        if loaded is None or self._busy or not self._may_edit or not self.is_dirty():
            return
        problem = self.problem()
        if problem:
            self.problems_label.setText("✗ " + problem)
            return
        definition = self.definition()
        touched = [line for line in surveys.describe_form_changes(
            loaded.definition, definition, loaded.answer_counts) if "phiếu đã trả lời" in line]
        if touched and not messages.confirm(
                self, self.tr("Lưu phiếu khảo sát phiên bản {v}? Thay đổi này chạm tới câu đã "
                              "có phiếu trả lời.").format(v=loaded.version + 1),
                "\n".join(touched)):
            return
        self._busy = True
        self._refresh()
        factory, pid, actor = self._factory, self._programme_id, self._actor
        data = survey_to_dict(definition)
        self._runner.start(lambda p: _update(factory, pid, data, actor, p),
                           on_done=self._on_saved, on_error=self._on_failed)

    def _on_saved(self, form: SurveyFormDTO) -> None:
        self._busy = False
        messages.notify(self, form.text)
        self.saved.emit(form)
        self.reload()

    def _on_failed(self, exc: BaseException) -> None:
        self._busy = False
        self._refresh()
        if isinstance(exc, MbfCareError):
            self.problems_label.setText("✗ " + str(exc))
        else:
            messages.show_error(self, exc)


class SurveyFormEditorDialog(QDialog):
    """The form editor in a window of its own (Công cụ menu); Esc closes, asking first when
    changes are not saved."""

    def __init__(self, factory: sessionmaker[Session], runner: TaskRunner, actor: Actor,
                 programme_id: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Phiếu khảo sát của chương trình"))
        layout = QVBoxLayout(self)
        self.editor = SurveyFormEditor(factory, runner, actor, programme_id, self)
        layout.addWidget(self.editor)
        close = QPushButton(self.tr("Đóng"))
        close.setAutoDefault(False)
        close.clicked.connect(self.reject)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(close)
        layout.addLayout(row)
        self.resize(1100, 680)

    def reject(self) -> None:
        """Close, unless unsaved changes should be kept."""
        if self.editor.is_dirty() and not messages.confirm(
                self, self.tr("Phiếu khảo sát có thay đổi chưa lưu. Đóng và bỏ các thay đổi?")):
            return
        super().reject()


__all__ = ["EditableQuestion", "SurveyFormEditor", "SurveyFormEditorDialog",
           "SurveyQuestionsModel", "row_problems"]
