"""The care list screen (Danh sách chăm sóc): filters, search, the list, one entry's detail."""

from __future__ import annotations

import dataclasses
import getpass
import html
import logging
from functools import partial
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid
from sqlalchemy.orm import Session, sessionmaker

from mbfcare.domain.actors import Actor
from mbfcare.domain.masking import shown_phone
from mbfcare.domain.steps import OUTCOMES, RECORDABLE_STEPS, STEPS
from mbfcare.domain.values import format_cycle, format_date, format_money, format_msisdn
from mbfcare.errors import StorageError
from mbfcare.services import care_work, data_protection, exporting, queries
from mbfcare.services.queries import (
    ANY_OUTCOME,
    GAP,
    NO_OUTCOME,
    CareDetailDTO,
    CareListFilter,
    FilterChoices,
)
from mbfcare.services.versions import ChangedByOther
from mbfcare.ui import messages
from mbfcare.ui.record_dialogs import RecordDialog, RecordInput
from mbfcare.ui.tablemodels.care_list import (
    COLUMNS,
    CareListTableModel,
    delivery_text,
    export_columns,
    outcome_text,
    state_text,
    step_text,
)
from mbfcare.ui.tasks import TaskProgress, TaskRunner

logger = logging.getLogger(__name__)

SEARCH_DELAY_MS = 250


class CareListWidget(QWidget):
    """The care list of the current programme: filter, search, sort, export, see one entry.

    Every database read runs through the `TaskRunner` except row pages (see
    `CareListTableModel`).

    Signals:
        selection_changed(int): the care-case id of the entry now selected.
        detail_shown(int): the detail panel now shows this care-case id.
        export_finished(str): the view was written to this file.
    """

    selection_changed = Signal(int)
    detail_shown = Signal(int)
    export_finished = Signal(str)

    def __init__(self, factory: sessionmaker[Session], runner: TaskRunner,
                 parent: QWidget | None = None, actor: Actor | None = None) -> None:
        super().__init__(parent)
        self._factory = factory
        self._runner = runner
        self._actor = actor or Actor(getpass.getuser())
        self._detail_dto: CareDetailDTO | None = None
        self._programme_id: int | None = None
        self._detail_id: int | None = None
        self._choices = FilterChoices((), (), (), (), ())
        self._choices_generation = 0

        self._model = CareListTableModel(factory, runner, self, actor=self._actor)
        self._batch_combo = self._combo("batch")
        self._group_combo = self._combo("group")
        self._delivery_combo = self._combo("delivery")
        self._district_combo = self._combo("district")
        self._store_combo = self._combo("store")
        self._state_combo = self._combo("state")
        self._todo_combo = self._combo("todo_step")
        self._outcome_combo = self._combo("outcome")
        self._search_edit = QLineEdit(self)
        self._search_edit.setObjectName("search")
        self._search_edit.setPlaceholderText(self.tr("Số thuê bao hoặc tên, không dấu cũng được"))
        self._search_edit.setClearButtonEnabled(True)
        self._count_label = QLabel(self)
        self._export_button = QPushButton(self.tr("Xuất Excel"), self)
        self._export_button.setToolTip(self.tr("Xuất danh sách đang xem ra tệp Excel (Ctrl+E)"))
        self._export_button.setShortcut(QKeySequence("Ctrl+E"))
        self._table = QTableView(self)
        self._table.setModel(self._model)
        self._table.setSortingEnabled(True)
        self._table.horizontalHeader().setSortIndicator(
            self._model.column_of("name"), Qt.SortOrder.AscendingOrder)
        self._table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self._table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self._table.setAlternatingRowColors(True)
        self._table.setWordWrap(False)
        self._table.verticalHeader().setDefaultSectionSize(
            self._table.fontMetrics().height() + 6)
        # Fixed widths: ResizeToContents would read every row of a 100,000-row list.
        header = self._table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        char = self._table.fontMetrics().horizontalAdvance("0")
        widths = {"batch": 5, "msisdn": 14, "name": 24, "group": 6, "delivery": 18,
                  "district": 16, "store": 20, "charge_1": 10, "charge_2": 10, "charge_3": 10,
                  "basis": 14, "tenure": 8, "state": 20, "waiting_rank": 9, "responsible": 26,
                  "sms": 5, "data_check": 5, "handover": 5, "package_advice": 5,
                  "questions": 5, "survey": 5, "outcome": 18}
        for i, column in enumerate(COLUMNS):
            header.resizeSection(i, widths.get(column.key, 12) * char + 12)
        self._table.installEventFilter(self)
        self._detail = QTextBrowser(self)
        self._detail.setObjectName("detail")
        self._detail.setOpenLinks(False)
        self._detail.setPlaceholderText(self.tr("Chọn một khách hàng để xem chi tiết."))
        detail_box = QWidget(self)
        detail_layout = QVBoxLayout(detail_box)
        detail_layout.setContentsMargins(0, 0, 0, 0)
        detail_layout.addWidget(self._detail, 1)
        actions = QHBoxLayout()
        self._action_buttons: dict[str, QPushButton] = {}
        for key, text, shortcut in (
                ("step", self.tr("Ghi bước…"), "Ctrl+R"),
                ("outcome", self.tr("Ghi kết quả…"), "Ctrl+Shift+R"),
                ("undo", self.tr("Hủy bước đã ghi…"), ""),
                ("profile", self.tr("Nhập thông tin KH"), "F4"),
                ("survey", self.tr("Khảo sát"), "F7")):
            button = QPushButton(f"{text} ({shortcut})" if shortcut else text, detail_box)
            button.setObjectName(f"{key}_button")
            if shortcut:
                button.setShortcut(QKeySequence(shortcut))
            button.setEnabled(False)
            button.clicked.connect(partial(self._on_action_clicked, key))
            actions.addWidget(button)
            self._action_buttons[key] = button
        actions.addStretch(1)
        detail_layout.addLayout(actions)
        self._splitter = QSplitter(Qt.Orientation.Vertical, self)
        self._splitter.addWidget(self._table)
        self._splitter.addWidget(detail_box)
        self._splitter.setStretchFactor(0, 3)
        self._splitter.setStretchFactor(1, 1)
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(SEARCH_DELAY_MS)

        filters = QHBoxLayout()
        for label, combo in ((self.tr("Đợt"), self._batch_combo),
                             (self.tr("Nhóm"), self._group_combo),
                             (self.tr("Hình thức"), self._delivery_combo),
                             (self.tr("Quận/Huyện"), self._district_combo),
                             (self.tr("Cửa hàng"), self._store_combo),
                             (self.tr("Trạng thái"), self._state_combo),
                             (self.tr("Bước còn thiếu"), self._todo_combo),
                             (self.tr("Kết quả"), self._outcome_combo)):
            caption = QLabel(label, self)
            caption.setBuddy(combo)
            filters.addWidget(caption)
            filters.addWidget(combo)
        filters.addStretch(1)
        search_row = QHBoxLayout()
        search_caption = QLabel(self.tr("Tìm:"), self)
        search_caption.setBuddy(self._search_edit)
        search_row.addWidget(search_caption)
        search_row.addWidget(self._search_edit, 1)
        search_row.addWidget(self._count_label)
        search_row.addWidget(self._export_button)
        layout = QVBoxLayout(self)
        layout.addLayout(filters)
        layout.addLayout(search_row)
        layout.addWidget(self._splitter, 1)

        self._fill_static_combos()
        self._update_count(0)

        for combo in self._combos():
            combo.currentIndexChanged.connect(self._on_filter_changed)
        self._search_edit.textChanged.connect(self._on_search_edit_text_changed)
        self._search_edit.returnPressed.connect(self._on_search_edit_return_pressed)
        self._search_timer.timeout.connect(self._on_filter_changed)
        self._export_button.clicked.connect(self._on_export_button_clicked)
        self._model.ids_loaded.connect(self._on_model_ids_loaded)
        self._model.load_failed.connect(self._on_task_failed)
        self._table.selectionModel().currentRowChanged.connect(
            self._on_table_current_row_changed)
        self._find_shortcut = QShortcut(QKeySequence.StandardKey.Find, self)
        self._find_shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self._find_shortcut.activated.connect(self.focus_search)

    # --- public ---------------------------------------------------------------------------

    @property
    def model(self) -> CareListTableModel:
        """The table model (ids of the current view)."""
        return self._model

    @property
    def table(self) -> QTableView:
        """The list view."""
        return self._table

    def apply_filter(self, filters: dict[str, Any]) -> None:
        """Show the entries a dashboard number counts (its filter keys: batch, group, state,
        district, has_work, handed_over, profile_standardised); other boxes are reset."""
        boxes = {"batch": self._batch_combo, "group": self._group_combo,
                 "delivery": self._delivery_combo, "district": self._district_combo,
                 "store": self._store_combo, "state": self._state_combo,
                 "todo_step": self._todo_combo, "outcome": self._outcome_combo}
        for key, combo in boxes.items():
            combo.blockSignals(True)
            index = combo.findData(filters[key]) if filters.get(key) is not None else 0
            combo.setCurrentIndex(max(index, 0))
            combo.blockSignals(False)
        self._search_edit.blockSignals(True)
        self._search_edit.clear()
        self._search_edit.blockSignals(False)
        self._extra_filter = {k: filters[k] for k in
                              ("has_work", "handed_over", "profile_standardised",
                               "gift_owed", "done_step")
                              if k in filters}
        self._model.set_filter(self.current_filter())

    def current_filter(self) -> CareListFilter | None:
        """The filter the boxes describe, or None without a programme."""
        if self._programme_id is None:
            return None
        extra = getattr(self, "_extra_filter", {})
        return CareListFilter(
            has_work=extra.get("has_work"), handed_over=extra.get("handed_over"),
            profile_standardised=extra.get("profile_standardised"),
            gift_owed=extra.get("gift_owed"), done_step=extra.get("done_step"),
            todo_step=self._todo_combo.currentData(),
            outcome=self._outcome_combo.currentData(),
            programme_id=self._programme_id,
            batch=self._batch_combo.currentData(),
            group=self._group_combo.currentData(),
            delivery=self._delivery_combo.currentData(),
            district=self._district_combo.currentData(),
            store=self._store_combo.currentData(),
            state=self._state_combo.currentData(),
            search=self._search_edit.text().strip(),
        )

    def set_actor(self, actor: Actor) -> None:
        """Who looks (the list is limited to his district or store) and records."""
        self._actor = actor
        self._model.actor = actor

    def apply_record(self, mode: str, given: RecordInput) -> None:
        """Run what a record form asked (step, outcome or undo) for the entry in the detail
        panel, on the worker; the result goes to the status bar, a refusal to a dialog."""
        dto = self._detail_dto
        if dto is None:
            return
        # The entry's id: the panel already holds it, no printed code is needed.
        code = dto.id
        actor, factory = self._actor, self._factory
        # What the panel shows: if someone recorded since, the service refuses instead of
        # building on a screen that is no longer true.
        seen = dto.row_version

        def work(_progress: TaskProgress) -> str:
            if mode == "step":
                return care_work.record_step(factory, code, given.what, actor=actor,
                                             on=given.on, by=given.by,
                                             value=given.text or None, seen_version=seen).text
            if mode == "outcome":
                return str(care_work.record_outcome(factory, code, given.what, actor=actor,
                                                    note=given.text, on=given.on,
                                                    seen_version=seen)["_text"])
            return care_work.undo(factory, code, given.what, reason=given.text, actor=actor,
                                  seen_version=seen)

        self._runner.start(work, on_done=partial(self._on_recorded, dto.id),
                           on_error=partial(self._on_record_failed, dto.id))

    def detail_text(self) -> str:
        """The detail panel's text (for tests and copying)."""
        return self._detail.toPlainText()

    def count_text(self) -> str:
        """The count label's text, e.g. `218 KH`."""
        return self._count_label.text()

    @Slot(object, object)
    def set_programme(self, programme_id: int | None, batch: int | None = None) -> None:
        """Show the care lists of `programme_id` (None: nothing), filtered to `batch`."""
        self._programme_id = programme_id
        self._choices_generation += 1
        generation = self._choices_generation
        self._clear_detail()
        if programme_id is None:
            self._set_choices(FilterChoices((), (), (), (), ()), None)
            self._model.set_filter(None)
            return
        self._runner.start(
            lambda _progress: queries.filter_choices(self._factory, programme_id,
                                                     actor=self._actor),
            on_done=partial(self._on_choices_loaded, generation, batch),
            on_error=self._on_task_failed)

    @Slot()
    def refresh(self) -> None:
        """Read the list again (after data changed elsewhere), keeping filter and order."""
        if self._programme_id is None:
            return
        self._choices_generation += 1
        generation = self._choices_generation
        batch = self._batch_combo.currentData()
        programme_id = self._programme_id
        self._runner.start(
            lambda _progress: queries.filter_choices(self._factory, programme_id,
                                                     actor=self._actor),
            on_done=partial(self._on_choices_loaded, generation, batch),
            on_error=self._on_task_failed)

    @Slot()
    def focus_search(self) -> None:
        """Put the cursor in the search box (Ctrl+F)."""
        self._search_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self._search_edit.selectAll()

    @Slot()
    def open_detail(self) -> None:
        """Show the selected entry's detail and move the focus there (Enter in the list)."""
        sizes = self._splitter.sizes()
        if len(sizes) == 2 and sizes[1] == 0:
            self._splitter.setSizes([max(sizes[0] * 2 // 3, 1), max(sizes[0] // 3, 1)])
        row = self._table.currentIndex().row()
        case_id = self._model.case_id(row)
        if case_id is not None and case_id != self._detail_id:
            self._load_detail(case_id)
        self._detail.setFocus(Qt.FocusReason.OtherFocusReason)

    def export_to(self, path: Path) -> None:
        """Write the current view (filter and order) to `path` on the worker."""
        ids = self._model.ids()
        columns = export_columns()
        self._export_button.setEnabled(False)
        actor, programme_id = self._actor, self._programme_id
        self._runner.start(
            lambda progress: exporting.export_ids(self._factory, ids, path, columns, progress,
                                                  actor=actor, programme_id=programme_id),
            on_done=partial(self._on_exported, path),
            on_error=self._on_export_failed)

    # --- helpers ----------------------------------------------------------------------------

    def _combo(self, name: str) -> QComboBox:
        combo = QComboBox(self)
        combo.setObjectName(f"{name}_filter")
        combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        return combo

    def _combos(self) -> tuple[QComboBox, ...]:
        return (self._batch_combo, self._group_combo, self._delivery_combo,
                self._district_combo, self._store_combo, self._state_combo, self._todo_combo,
                self._outcome_combo)

    def _fill_static_combos(self) -> None:
        self._state_combo.blockSignals(True)
        self._state_combo.addItem(self.tr("Tất cả"), None)
        for state in ("listed", "waiting", "awaiting_group", "left_out"):
            self._state_combo.addItem(state_text(state), state)
        self._state_combo.blockSignals(False)
        for combo in (self._todo_combo, self._outcome_combo):
            combo.blockSignals(True)
            combo.addItem(self.tr("Tất cả"), None)
        for step in STEPS:
            self._todo_combo.addItem(step_text(step), step)
        self._outcome_combo.addItem(self.tr("Chưa có kết quả"), NO_OUTCOME)
        self._outcome_combo.addItem(self.tr("Đã đóng (mọi kết quả)"), ANY_OUTCOME)
        for outcome in OUTCOMES:
            self._outcome_combo.addItem(outcome_text(outcome), outcome)
        for combo in (self._todo_combo, self._outcome_combo):
            combo.blockSignals(False)
        self._set_choices(self._choices, None)

    def _set_choices(self, choices: FilterChoices, batch: int | None) -> None:
        """Refill the filter boxes, keeping what was chosen when it is still offered."""
        self._choices = choices
        everything = self.tr("Tất cả")

        def refill(combo: QComboBox, items: list[tuple[str, Any]], keep: Any) -> None:
            combo.blockSignals(True)
            combo.clear()
            combo.addItem(everything, None)
            for text, data in items:
                combo.addItem(text, data)
            index = combo.findData(keep) if keep is not None else 0
            combo.setCurrentIndex(max(index, 0))
            combo.blockSignals(False)

        refill(self._batch_combo, [(str(b), b) for b in choices.batches], batch)
        groups: list[tuple[str, Any]] = [
            (self.tr("Nhóm {n}").format(n=g), g) for g in choices.groups]
        groups.append((self.tr("Chờ quyết định"), GAP))
        refill(self._group_combo, groups, self._group_combo.currentData())
        refill(self._delivery_combo, [(delivery_text(d) or d, d) for d in choices.deliveries],
               self._delivery_combo.currentData())
        refill(self._district_combo, [(d, d) for d in choices.districts],
               self._district_combo.currentData())
        refill(self._store_combo, [(s, s) for s in choices.stores],
               self._store_combo.currentData())

    def _update_count(self, count: int) -> None:
        self._count_label.setText(self.tr("{count} KH").format(
            count=f"{count:,}".replace(",", ".")))

    def _clear_detail(self) -> None:
        self._detail_id = None
        self._detail_dto = None
        self._detail.clear()
        for button in getattr(self, "_action_buttons", {}).values():
            button.setEnabled(False)

    def _load_detail(self, case_id: int) -> None:
        self._detail_id = case_id
        actor, factory = self._actor, self._factory

        def work(_progress: TaskProgress) -> CareDetailDTO:
            detail = queries.care_detail(factory, case_id, actor=actor)
            # The contact number is not this screen's work: masked when the office says so.
            return dataclasses.replace(detail, contact_number=shown_phone(
                detail.contact_number, data_protection.masking_on(factory)))

        self._runner.start(work, on_done=partial(self._on_detail_loaded, case_id),
                           on_error=self._on_task_failed)

    def _detail_html(self, d: CareDetailDTO) -> str:
        e = html.escape
        yes, no = "✓", "—"
        group = self.tr("Nhóm {n}").format(n=d.group) if d.group is not None else \
            self.tr("chưa có nhóm")
        parts = [
            f"<h3>{e(d.name or self.tr('(không tên)'))} · {e(format_msisdn(d.msisdn))}</h3>",
            "<p>" + " · ".join(e(x) for x in (
                self.tr("Đợt {n} ({month})").format(n=d.batch, month=d.care_month), group,
                state_text(d.state), delivery_text(d.delivery)) if x) + "</p>",
            "<p>" + " · ".join(e(x) for x in (
                d.district, d.province, d.store, d.address,
                self.tr("SĐT liên hệ: {number}").format(number=d.contact_number)
                if d.contact_number else "",
                self.tr("kích hoạt {date}").format(date=format_date(d.activation_date))
                if d.activation_date else "",
                self.tr("{years} năm sử dụng ({band})").format(years=d.tenure_years,
                                                              band=d.tenure_band)
                if d.tenure_years is not None else "",
                self.tr("Người phụ trách: {who}").format(who=d.responsible)
                if d.responsible else "") if x) + "</p>",
        ]
        cells = "".join(
            f"<td>{e(format_cycle(c))}: <b>{e(format_money(a))}</b></td>"
            for c, a in zip(d.cycles, d.charges, strict=True))
        parts.append(
            f"<table cellspacing='6'><tr>{cells}<td>{e(self.tr('Mức cước căn cứ'))}: "
            f"<b>{e(format_money(d.basis))}</b></td></tr></table>")
        parts.append("<p>" + "<br>".join(e(line) for line in d.explanation) + "</p>")
        if d.offers:
            parts.append(f"<p>{e(self.tr('Gói cước có thể tư vấn'))}: <b>{e(d.offers)}</b></p>")
        steps = []
        for step in d.steps:
            mark = yes if step.done else no
            when = format_date(step.date) if step.date else ""
            if step.key == "handover" and not step.done and d.gift_owed:
                mark, when = "…", self.tr("đang nợ quà")
            extra = " · ".join(x for x in (when, step.by or "", step.value or "") if x)
            steps.append(f"<tr><td>{mark}</td><td>{e(step_text(step.key))}</td>"
                         f"<td>{e(extra)}</td></tr>")
        parts.append(f"<p><b>{e(self.tr('Các bước'))}:</b></p><table cellspacing='4'>"
                     + "".join(steps) + "</table>")
        if d.outcome:
            parts.append(f"<p><b>{e(self.tr('Kết quả'))}:</b> {e(outcome_text(d.outcome))}"
                         + (f" – {e(d.outcome_note)}" if d.outcome_note else "") + "</p>")
        kinds = {"imported": self.tr("Nhập lần đầu"), "updated": self.tr("Cập nhật"),
                 "classified": self.tr("Xếp danh sách"), "decided": self.tr("Quyết định nhóm"),
                 "audit": self.tr("Ghi nhận")}
        if d.history:
            lines = []
            for h in d.history:
                when = format_date(h.at.date()) if h.at else ""
                text = h.text
                if h.kind == "classified":
                    text = self.tr("quy định phiên bản {v}").format(v=h.text)
                lines.append(" · ".join(e(x) for x in (when, kinds.get(h.kind, h.kind), text,
                                                      h.by) if x))
            parts.append(f"<p><b>{e(self.tr('Lịch sử'))}:</b><br>" + "<br>".join(lines)
                         + "</p>")
        return "".join(parts)

    # --- slots ------------------------------------------------------------------------------

    @Slot()
    def _on_filter_changed(self) -> None:
        self._search_timer.stop()
        self._extra_filter = {}  # the user changed the filter: a dashboard link's extras go
        self._model.set_filter(self.current_filter())

    @Slot(str)
    def _on_search_edit_text_changed(self, _text: str) -> None:
        self._search_timer.start()  # debounce: wait until typing pauses

    @Slot()
    def _on_search_edit_return_pressed(self) -> None:
        if self._search_timer.isActive():
            self._on_filter_changed()
        else:
            self._table.setFocus(Qt.FocusReason.OtherFocusReason)

    def _on_choices_loaded(self, generation: int, batch: int | None,
                           choices: FilterChoices) -> None:
        if not isValid(self):
            return  # closed while the worker was busy
        if generation != self._choices_generation:
            return
        self._set_choices(choices, batch)
        self._model.set_filter(self.current_filter())

    @Slot(int)
    def _on_model_ids_loaded(self, count: int) -> None:
        self._update_count(count)
        if self._detail_id is not None:
            row = self._model.row_of(self._detail_id)
            if row is not None:
                self._table.selectRow(row)
                return
        self._clear_detail()
        if count:
            self._table.selectRow(0)

    @Slot(object, object)
    def _on_table_current_row_changed(self, current: Any, _previous: Any) -> None:
        case_id = self._model.case_id(current.row())
        if case_id is None:
            return
        self.selection_changed.emit(case_id)
        if case_id != self._detail_id:
            self._load_detail(case_id)

    def _on_detail_loaded(self, case_id: int, detail: CareDetailDTO) -> None:
        if not isValid(self):
            return  # closed while the worker was busy
        if case_id != self._detail_id:
            return  # the user moved on
        self._detail_dto = detail
        self._detail.setHtml(self._detail_html(detail))
        servable = detail.state == "listed"
        for key, button in self._action_buttons.items():
            button.setEnabled(servable or key == "undo")
        self.detail_shown.emit(case_id)

    def _on_recorded(self, case_id: int, text: str) -> None:
        if not isValid(self):
            return
        messages.notify(self, text)
        self._model.refresh_rows()
        if self._detail_id == case_id:
            self._load_detail(case_id)

    @Slot(str)
    def _on_action_clicked(self, key: str) -> None:
        dto = self._detail_dto
        if dto is None:
            return
        customer = f"{dto.name} · {format_msisdn(dto.msisdn)}"
        if key in ("profile", "survey"):
            self._open_form(key, dto)
            return
        done = [s.key for s in dto.steps if s.done]
        if key == "step":
            choices = [s for s in RECORDABLE_STEPS if s not in done]
        elif key == "undo":
            choices = done + (["outcome"] if dto.outcome else [])
            if dto.gift_owed and "handover" not in choices:
                choices.append("handover")
        else:
            choices = list(OUTCOMES)
        if not choices:
            messages.notify(self, self.tr("Không còn gì để ghi hay hủy cho khách hàng này."))
            return
        dialog = RecordDialog(key, customer, choices, self)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.apply_record(key, dialog.result_input())

    def _open_form(self, key: str, dto: CareDetailDTO) -> None:
        try:
            if key == "profile":
                from mbfcare.ui.profile_form import ProfileFormDialog

                ProfileFormDialog(self._factory, self._runner, self._actor, dto.id,
                                  self).exec()
            else:
                from mbfcare.ui.survey_entry import SurveyEntryDialog

                SurveyEntryDialog(self._factory, self._runner, self._actor,
                                  self._programme_id or 0, dto.id, self).exec()
        except ImportError:  # pragma: no cover - both ship with the application
            return
        self._on_recorded(dto.id, "")

    @Slot()
    def _on_export_button_clicked(self) -> None:
        name, _filter = QFileDialog.getSaveFileName(
            self, self.tr("Xuất danh sách ra Excel"), "danh-sach-cham-soc.xlsx",
            self.tr("Tệp Excel (*.xlsx)"))
        if not name:
            return
        path = Path(name)
        if path.suffix.lower() != ".xlsx":
            path = path.with_name(path.name + ".xlsx")
        self.export_to(path)

    def _on_exported(self, path: Path, rows: int) -> None:
        if not isValid(self):
            return  # closed while the worker was busy
        self._export_button.setEnabled(True)
        messages.notify(self, self.tr("Đã xuất {rows} KH ra tệp {file}").format(
            rows=f"{rows:,}".replace(",", "."), file=path.name))
        self.export_finished.emit(str(path))

    def _on_export_failed(self, exc: BaseException) -> None:
        if not isValid(self):
            return  # closed while the worker was busy
        self._export_button.setEnabled(True)
        messages.show_error(self, exc)

    def _on_task_failed(self, exc: BaseException) -> None:
        if not isValid(self):
            return  # closed while the worker was busy
        messages.show_error(self, exc)

    def _on_record_failed(self, case_id: int, exc: BaseException) -> None:
        if not isValid(self):
            return
        messages.show_error(self, exc)
        if isinstance(exc, (ChangedByOther, StorageError)):
            # Show what the database now holds, never what this screen assumed.
            self._model.refresh_rows()
            if self._detail_id == case_id:
                self._load_detail(case_id)

    # --- Qt overrides -----------------------------------------------------------------------

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (watched is self._table and event.type() == QEvent.Type.KeyPress
                and isinstance(event, QKeyEvent)
                and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)):
            self.open_detail()
            return True
        return super().eventFilter(watched, event)
