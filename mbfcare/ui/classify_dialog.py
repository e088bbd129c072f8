"""Classify a batch from the window: preview the counts, confirm, then decide the gap cases."""

from __future__ import annotations

from functools import partial
from typing import Any

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy.orm import Session, sessionmaker

from mbfcare.domain.actors import Actor
from mbfcare.domain.values import format_money, format_msisdn, format_number
from mbfcare.services import classification
from mbfcare.services.accounts import local_actor
from mbfcare.services.classification import ClassifyResult, GapCase
from mbfcare.ui import messages
from mbfcare.ui.tasks import TaskRunner


def _item(text: str, align_right: bool = False) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
    if align_right:
        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return item


class ClassifyDialog(QDialog):
    """Batch classification: care month, gifts planned, a dry run, then the real run.

    Signals:
        classified(object): the `ClassifyResult` of the stored run.
    """

    classified = Signal(object)

    def __init__(self, factory: sessionmaker[Session], runner: TaskRunner,
                 programme_id: int | None, batch: int, care_month: str,
                 gift_types: list[int], parent: QWidget | None = None, *,
                 actor: Actor | None = None) -> None:
        super().__init__(parent)
        self._factory, self._runner = factory, runner
        self._actor = actor or local_actor()
        self._programme_id, self._batch = programme_id, batch
        self.preview: ClassifyResult | None = None
        self.setWindowTitle(self.tr("Xếp danh sách đợt {batch}").format(batch=batch))
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.care_month_edit = QLineEdit(care_month)
        self.care_month_edit.setInputMask("99/9999")
        form.addRow(self.tr("Tháng chăm sóc:"), self.care_month_edit)
        self.plan_spins: dict[int, QSpinBox] = {}
        for number in gift_types:
            spin = QSpinBox()
            spin.setRange(0, 1_000_000)
            spin.setSpecialValueText(self.tr("không giới hạn"))
            spin.setSingleStep(10)
            self.plan_spins[number] = spin
            form.addRow(self.tr("Số quà loại {n} dự kiến:").format(n=number), spin)
        layout.addLayout(form)
        self.summary = QLabel(self.tr("Bấm «Xem trước» để xem số lượng trước khi lưu."))
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)
        self.counts = QTableWidget(0, 2)
        self.counts.setHorizontalHeaderLabels([self.tr("Kết quả"), self.tr("Số KH")])
        self.counts.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.counts.verticalHeader().setVisible(False)
        layout.addWidget(self.counts)
        buttons = QHBoxLayout()
        self.preview_button = QPushButton(self.tr("Xem trước"))
        self.preview_button.clicked.connect(self._on_preview_button_clicked)
        self.run_button = QPushButton(self.tr("Xếp danh sách"))
        self.run_button.setEnabled(False)
        self.run_button.clicked.connect(self._on_run_button_clicked)
        close = QPushButton(self.tr("Đóng"))
        close.clicked.connect(self.reject)
        buttons.addWidget(self.preview_button)
        buttons.addStretch(1)
        buttons.addWidget(self.run_button)
        buttons.addWidget(close)
        layout.addLayout(buttons)
        self.resize(560, 520)

    def _plan(self) -> dict[int, int] | None:
        plan = {n: s.value() for n, s in self.plan_spins.items() if s.value() > 0}
        return plan or None

    def _run(self, dry_run: bool) -> None:
        care = self.care_month_edit.text().strip()
        self.preview_button.setEnabled(False)
        self.run_button.setEnabled(False)
        self.summary.setText(self.tr("Đang tính…"))
        self._runner.start(
            partial(_classify, self._factory, self._actor, self._programme_id, self._batch,
                    care, dry_run, self._plan()),
            on_done=self._on_preview_done if dry_run else self._on_run_done,
            on_error=self._on_failed)

    @Slot()
    def _on_preview_button_clicked(self) -> None:
        self._run(dry_run=True)

    @Slot()
    def _on_run_button_clicked(self) -> None:
        preview = self.preview
        if preview is not None and preview.kept:
            text = self.tr("Xếp lại đợt {batch} sẽ thêm {added} KH, giữ nguyên {kept} KH đã "
                           "có trong danh sách.").format(
                batch=self._batch, added=format_number(preview.added),
                kept=format_number(preview.kept))
        elif preview is not None:
            text = self.tr("Lưu danh sách đợt {batch}: {added} KH.").format(
                batch=self._batch, added=format_number(preview.added))
        else:
            text = self.tr("Xếp danh sách đợt {batch}?").format(batch=self._batch)
        if messages.confirm(self, text):
            self._run(dry_run=False)
        else:
            self.run_button.setEnabled(True)

    def _show(self, result: ClassifyResult) -> None:
        rows: list[tuple[str, int]] = [
            (self.tr("Nhóm {n}").format(n=n), c) for n, c in sorted(result.groups.items())]
        rows.append((self.tr("Chờ quyết định nhóm"), result.in_gap))
        rows.append((self.tr("Danh sách chờ (thiếu quà)"), result.waiting))
        rows += [(self.tr("Không đủ điều kiện – {reason}").format(
            reason=classification.REASONS.get(k, k)), v) for k, v in result.not_eligible.items()]
        self.counts.setRowCount(len(rows))
        for i, (label, count) in enumerate(rows):
            self.counts.setItem(i, 0, _item(label))
            self.counts.setItem(i, 1, _item(format_number(count), align_right=True))
        lines = [self.tr("Đợt {batch}, tháng chăm sóc {month}; chu kỳ căn cứ {cycles}.").format(
            batch=result.batch, month=result.care_month, cycles=", ".join(result.cycles)),
            result.rule]
        lines += ["⚠ " + p for p in result.rule_problems]
        self.summary.setText("\n".join(lines))

    def _on_preview_done(self, result: ClassifyResult) -> None:
        self.preview = result
        self._show(result)
        self.preview_button.setEnabled(True)
        self.run_button.setEnabled(True)

    def _on_run_done(self, result: ClassifyResult) -> None:
        self._show(result)
        self.preview_button.setEnabled(True)
        messages.notify(self.parentWidget(), self.tr(
            "Đã xếp đợt {batch}: thêm {added} KH, {gap} KH chờ quyết định nhóm.").format(
            batch=result.batch, added=format_number(result.added),
            gap=format_number(result.in_gap)))
        self.classified.emit(result)
        if result.in_gap:
            dialog = GapDecisionDialog(self._factory, self._runner, self._programme_id,
                                       self._batch, self, actor=self._actor)
            dialog.open()
            self.gap_dialog = dialog
        else:
            self.accept()

    def _on_failed(self, exc: BaseException) -> None:
        self.preview_button.setEnabled(True)
        self.summary.setText("")
        messages.show_error(self, exc)


def _classify(factory: sessionmaker[Session], actor: Actor, programme_id: int | None,
              batch: int, care: str, dry_run: bool, plan: dict[int, int] | None, progress: Any
              ) -> ClassifyResult:
    """Worker: classify (or preview). No UI calls here."""
    return classification.classify_batch(factory, programme_id=programme_id, batch=batch,
                                         care_month=care or None, dry_run=dry_run, plan=plan,
                                         actor=actor, progress=progress)


class GapDecisionDialog(QDialog):
    """The subscribers whose basis falls between groups: staff put each in a group or not.

    Signals:
        decided(int): how many decisions were saved.
    """

    decided = Signal(int)
    CHOICES = ("", "1", "2", "none")

    def __init__(self, factory: sessionmaker[Session], runner: TaskRunner,
                 programme_id: int | None, batch: int | None,
                 parent: QWidget | None = None, *, actor: Actor | None = None) -> None:
        super().__init__(parent)
        self._factory, self._runner = factory, runner
        self._actor = actor or local_actor()
        self._programme_id, self._batch = programme_id, batch
        self.cases: list[GapCase] = []
        self.setWindowTitle(self.tr("Quyết định nhóm cho KH ngoài các nhóm"))
        layout = QVBoxLayout(self)
        intro = QLabel(self.tr(
            "Mức cước căn cứ của các KH dưới đây không thuộc nhóm nào theo quy định. Chọn nhóm "
            "hoặc «Không chọn» cho từng KH và ghi lý do."))
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.table = QTableWidget(0, 6)
        self.table.setHorizontalHeaderLabels([
            self.tr("Số thuê bao"), self.tr("Họ tên"), self.tr("Quận/Huyện"),
            self.tr("Cước 3 chu kỳ"), self.tr("Mức căn cứ"), self.tr("Quyết định")])
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setVisible(False)
        layout.addWidget(self.table)
        form = QFormLayout()
        self.note_edit = QLineEdit()
        self.note_edit.setPlaceholderText(self.tr("ví dụ: Giám đốc duyệt ngày 05/09/2017"))
        form.addRow(self.tr("Lý do:"), self.note_edit)
        self.note_error = QLabel()
        self.note_error.setStyleSheet("color: #b00020")
        form.addRow("", self.note_error)
        layout.addLayout(form)
        box = QDialogButtonBox()
        self.save_button = box.addButton(self.tr("Lưu quyết định"),
                                         QDialogButtonBox.ButtonRole.AcceptRole)
        box.addButton(self.tr("Đóng"), QDialogButtonBox.ButtonRole.RejectRole)
        box.accepted.connect(self._on_save_clicked)
        box.rejected.connect(self.reject)
        layout.addWidget(box)
        self.resize(820, 480)
        self._runner.start(partial(_gap_cases, factory, self._actor, programme_id, batch),
                           on_done=self._on_loaded,
                           on_error=lambda exc: messages.show_error(self, exc))

    def _on_loaded(self, cases: list[GapCase]) -> None:
        self.cases = cases
        self.table.setRowCount(len(cases))
        for row, case in enumerate(cases):
            self.table.setItem(row, 0, _item(format_msisdn(case.msisdn)))
            self.table.setItem(row, 1, _item(case.name or ""))
            self.table.setItem(row, 2, _item(case.district or ""))
            self.table.setItem(row, 3, _item(", ".join(
                format_money(c).removesuffix(" đ") for c in case.charges)))
            self.table.setItem(row, 4, _item(format_money(case.basis), align_right=True))
            combo = QComboBox()
            combo.addItems([self.tr("— chưa quyết định —"), self.tr("Nhóm 1"),
                            self.tr("Nhóm 2"), self.tr("Không chọn")])
            self.table.setCellWidget(row, 5, combo)
        self.table.resizeColumnsToContents()

    def choices(self) -> list[tuple[GapCase, str]]:
        """The decisions chosen in the table (case, "1" | "2" | "none")."""
        out = []
        for row, case in enumerate(self.cases):
            combo = self.table.cellWidget(row, 5)
            assert isinstance(combo, QComboBox)
            choice = self.CHOICES[combo.currentIndex()]
            if choice:
                out.append((case, choice))
        return out

    @Slot()
    def _on_save_clicked(self) -> None:
        chosen = self.choices()
        note = self.note_edit.text().strip()
        if not chosen:
            self.note_error.setText(self.tr("Chưa chọn quyết định cho KH nào."))
            return
        if not note:
            self.note_error.setText(self.tr("Cần ghi lý do của quyết định."))
            self.note_edit.setFocus()
            return
        self.note_error.clear()
        self.save_button.setEnabled(False)
        self._runner.start(partial(_decide, self._factory, self._actor, self._programme_id,
                                   chosen, note),
                           on_done=self._on_saved, on_error=self._on_failed)

    def _on_saved(self, count: int) -> None:
        messages.notify(self.parentWidget(), self.tr("Đã lưu {n} quyết định nhóm.").format(
            n=format_number(count)))
        self.decided.emit(count)
        self.accept()

    def _on_failed(self, exc: BaseException) -> None:
        self.save_button.setEnabled(True)
        messages.show_error(self, exc)


def _gap_cases(factory: sessionmaker[Session], actor: Actor, programme_id: int | None,
               batch: int | None, progress: Any) -> list[GapCase]:
    """Worker: the gap cases. No UI calls here."""
    return classification.gap_cases(factory, actor=actor, programme_id=programme_id,
                                     batch=batch)


def _decide(factory: sessionmaker[Session], actor: Actor, programme_id: int | None,
            chosen: list[tuple[GapCase, str]], note: str, progress: Any) -> int:
    """Worker: record each decision. No UI calls here."""
    for case, choice in chosen:
        classification.decide_gap(factory, case.msisdn, group=None if choice == "none"
                                  else int(choice), actor=actor, note=note,
                                  programme_id=programme_id)
    return len(chosen)
