"""Small forms to record a step, close an entry with an outcome, or undo something recorded.

They only gather and check input; the caller runs the service on the TaskRunner.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import QDate, Qt, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from mbfcare.domain.steps import OUTCOMES, RECORDABLE_STEPS
from mbfcare.ui.tablemodels.care_list import outcome_text, step_text


@dataclass(frozen=True)
class RecordInput:
    """What the user filled in."""

    what: str  # a step key, an outcome key, or what to undo (`handover`, `outcome`, a step)
    on: dt.date
    text: str  # value of a step, note of an outcome, reason of an undo
    by: str = ""


class RecordDialog(QDialog):
    """Record a step (`mode="step"`), an outcome (`"outcome"`) or undo (`"undo"`).

    `choices` limits what is offered (the steps not yet done, or the things that can be
    undone); the first is preselected. An outcome `other` and every undo need the text.
    """

    def __init__(self, mode: str, customer: str, choices: Sequence[str] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._mode = mode
        titles = {"step": self.tr("Ghi bước đã làm"), "outcome": self.tr("Ghi kết quả"),
                  "undo": self.tr("Hủy một bước đã ghi")}
        self.setWindowTitle(titles[mode])
        self.what = QComboBox(self)
        self.what.setObjectName("what")
        if mode == "outcome":
            options = list(choices or OUTCOMES)
            for key in options:
                self.what.addItem(outcome_text(key), key)
        else:
            options = list(choices or RECORDABLE_STEPS)
            for key in options:
                self.what.addItem(self.tr("Kết quả") if key == "outcome" else step_text(key),
                                  key)
        self.on = QDateEdit(QDate.currentDate(), self)
        self.on.setObjectName("on")
        self.on.setDisplayFormat("dd/MM/yyyy")
        self.on.setCalendarPopup(True)
        self.on.setMaximumDate(QDate.currentDate())
        self.by = QLineEdit(self)
        self.by.setObjectName("by")
        self.by.setPlaceholderText(self.tr("để trống: người đang dùng máy"))
        self.text = QLineEdit(self)
        self.text.setObjectName("text")
        self.problem = QLabel(self)
        self.problem.setObjectName("problem")
        self.problem.setStyleSheet("color: #b00020")
        self.problem.setWordWrap(True)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        form = QFormLayout()
        form.addRow(self.tr("Khách hàng:"), QLabel(customer, self))
        labels = {"step": self.tr("Bước:"), "outcome": self.tr("Kết quả:"),
                  "undo": self.tr("Hủy:")}
        form.addRow(labels[mode], self.what)
        if mode != "undo":
            form.addRow(self.tr("Ngày:"), self.on)
        if mode == "step":
            form.addRow(self.tr("Người làm:"), self.by)
        text_labels = {"step": self.tr("Ghi chú / giá trị:"), "outcome": self.tr("Ghi chú:"),
                       "undo": self.tr("Lý do (bắt buộc):")}
        form.addRow(text_labels[mode], self.text)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.problem)
        layout.addWidget(self.buttons)
        self.buttons.accepted.connect(self._on_buttons_accepted)
        self.buttons.rejected.connect(self.reject)
        self.what.setFocus(Qt.FocusReason.OtherFocusReason)

    def result_input(self) -> RecordInput:
        """The values filled in (call after `exec()` returned Accepted)."""
        day = self.on.date()
        return RecordInput(str(self.what.currentData()),
                           dt.date(day.year(), day.month(), day.day()),
                           self.text.text().strip(), self.by.text().strip())

    def problem_text(self) -> str:
        """The sentence shown under the form, "" when the form is complete."""
        return self.problem.text()

    @Slot()
    def _on_buttons_accepted(self) -> None:
        if self.what.count() == 0:
            self.reject()
            return
        needs_text = self._mode == "undo" or (self._mode == "outcome"
                                              and self.what.currentData() == "other")
        if needs_text and not self.text.text().strip():
            self.problem.setText("⚠ " + (self.tr("Cần ghi lý do.") if self._mode == "undo"
                                         else self.tr("Kết quả 'Khác' cần ghi chú.")))
            self.text.setFocus(Qt.FocusReason.OtherFocusReason)
            return
        self.accept()
