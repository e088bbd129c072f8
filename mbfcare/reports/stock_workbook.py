"""The gift stock as a workbook: balances (TonKho), the ledger (SoKho) and owed gifts (QuaNo)."""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import xlsxwriter
from sqlalchemy.orm import Session, sessionmaker
from xlsxwriter.exceptions import FileCreateError

from mbfcare.domain.actors import Actor
from mbfcare.errors import StorageError, UsageError
from mbfcare.reports.regional import safe_text
from mbfcare.services import stock
from mbfcare.services.stock import MOVEMENT_LABELS, BalanceDTO, MovementDTO, OwedDTO

logger = logging.getLogger(__name__)

SHEETS = ("TonKho", "SoKho", "QuaNo")
TONKHO_HEADERS = ("Nơi", "Món quà", "Loại", "Nhập", "Chuyển đến", "Chuyển đi", "Đã trao",
                  "Trả lại", "Hủy", "Nợ", "Còn")
SOKHO_HEADERS = ("Thời gian", "Loại", "Món quà", "Nơi", "Số lượng", "Nơi kia", "Người",
                 "Lý do", "Thuê bao")
QUANO_HEADERS = ("Thuê bao", "Họ tên", "Món quà", "Nơi", "Ngày ghi nợ", "Ngày hẹn", "Quá hẹn")

NUMBER_FORMAT = "#,##0"
SIGNED_FORMAT = "+#,##0;-#,##0;0"
DATE_FORMAT = "dd/mm/yyyy"
DATETIME_FORMAT = "dd/mm/yyyy hh:mm"
OVERDUE_TEXT = "quá hẹn"


@dataclass(frozen=True)
class StockWorkbookWritten:
    """What `export_stock` wrote: the file and the data rows of each sheet."""

    path: Path
    rows: dict[str, int]

    @property
    def text(self) -> str:
        """The sentence for the status bar."""
        return (f"Đã xuất kho quà ra tệp {self.path.name}: {self.rows['TonKho']} dòng tồn kho, "
                f"{self.rows['SoKho']} dòng sổ kho, {self.rows['QuaNo']} quà nợ.")


def local_time(value: dt.datetime) -> dt.datetime:
    """A stored (UTC) instant as the office PC's wall-clock time, without a zone (for Excel)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone().replace(tzinfo=None)


def write_stock_workbook(
    path: Path,
    balances: Sequence[BalanceDTO],
    movements: Sequence[MovementDTO],
    owed: Sequence[OwedDTO],
    *,
    today: dt.date,
    active: str = "TonKho",
) -> dict[str, int]:
    """Write the three sheets to `path` (overwritten); pure over the DTOs given.

    Numbers are numbers, dates real dates shown dd/mm/yyyy, subscriber numbers text (the
    leading 0 stays). `active` is the sheet the file opens on.

    Returns:
        The data rows written per sheet.
    """
    if active not in SHEETS:
        raise ValueError(f"unknown sheet {active!r}")
    book = xlsxwriter.Workbook(str(path), {
        "strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False,
    })
    try:
        formats = {
            "header": book.add_format({"bold": True}),
            "number": book.add_format({"num_format": NUMBER_FORMAT}),
            "signed": book.add_format({"num_format": SIGNED_FORMAT}),
            "date": book.add_format({"num_format": DATE_FORMAT}),
            "datetime": book.add_format({"num_format": DATETIME_FORMAT}),
            "text": book.add_format({"num_format": "@"}),
        }
        sheets = {name: book.add_worksheet(name) for name in SHEETS}
        _write_balances(sheets["TonKho"], balances, formats)
        _write_ledger(sheets["SoKho"], movements, formats)
        _write_owed(sheets["QuaNo"], owed, formats, today)
        sheets[active].activate()
    finally:
        book.close()
    return {"TonKho": len(balances), "SoKho": len(movements), "QuaNo": len(owed)}


def export_stock(
    factory: sessionmaker[Session],
    path: Path,
    programme_id: int | None = None,
    *,
    item_code: str | None = None,
    location: str | None = None,
    kind: str | None = None,
    active: str = "TonKho",
    today: dt.date | None = None,
    actor: Actor,
) -> StockWorkbookWritten:
    """Read the programme's stock and write it to `path` (`.xlsx`), replacing it only whole.

    The ledger sheet holds the lines of `item_code`, `location` and `kind` when given (the
    filter shown on screen). The owed-gifts sheet names customers, so the actor needs
    `export_personal` and the export is recorded in the audit log. Runs on the database
    worker: no UI calls here.

    Raises:
        PermissionProblem: the role may not write personal data.
        UsageError: `path` is not an `.xlsx` file in an existing folder.
        StorageError: the file could not be written (open in Excel, no permission).
        NotFoundError: no such programme or item.
    """
    from mbfcare.services.data_protection import audit_export, require_export

    require_export(actor)
    path = Path(path)
    if path.suffix.lower() != ".xlsx":
        raise UsageError(f"Tệp xuất '{path.name}' phải có đuôi .xlsx.")
    if not path.parent.is_dir():
        raise UsageError(f"Thư mục '{path.parent}' không tồn tại: tạo thư mục hoặc chọn nơi "
                         "khác.")
    balances = stock.balances(factory, programme_id)
    movements = stock.ledger(factory, programme_id, item_code=item_code, location=location,
                             kind=kind)
    owed = stock.owed_gifts(factory, programme_id)
    day = today or dt.datetime.now().astimezone().date()
    # A plain name beside the target so that os.replace is atomic, and a failed write
    # leaves the previous file as it was.
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.xlsx")
    try:
        rows = write_stock_workbook(tmp, balances, movements, owed, today=day, active=active)
        os.replace(tmp, path)
    except (OSError, FileCreateError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise StorageError(f"Không ghi được tệp '{path}' ({reason}). Kiểm tra tệp có đang mở "
                           "trong Excel không và thư mục có cho ghi không, rồi thử lại.") from exc
    finally:
        tmp.unlink(missing_ok=True)
    audit_export(factory, actor, kind="stock_workbook", file=path, count=sum(rows.values()),
                 programme_id=programme_id, details={"sheets": rows})
    logger.info("stock export: %d balances, %d ledger lines, %d owed, %s", rows["TonKho"],
                rows["SoKho"], rows["QuaNo"], path.name)
    return StockWorkbookWritten(path, rows)


# --------------------------------------------------------------------------- sheets


def _header(ws: Any, headers: Sequence[str], widths: Sequence[int], fmt: Any) -> None:
    for col, (title, width) in enumerate(zip(headers, widths, strict=True)):
        ws.write_string(0, col, title, fmt)
        ws.set_column(col, col, width)
    ws.freeze_panes(1, 0)


def _text(ws: Any, row: int, col: int, value: str | None, fmt: Any = None) -> None:
    if value:
        ws.write_string(row, col, safe_text(value), fmt)


def _write_balances(ws: Any, rows: Sequence[BalanceDTO], f: dict[str, Any]) -> None:
    _header(ws, TONKHO_HEADERS, (30, 32, 6, 9, 11, 10, 9, 9, 8, 8, 9), f["header"])
    for r, b in enumerate(rows, start=1):
        _text(ws, r, 0, b.location)
        _text(ws, r, 1, b.item_name)
        ws.write_number(r, 2, b.gift_type)
        for col, value in enumerate((b.received, b.transferred_in, b.transferred_out,
                                     b.handed_over, b.returned, b.written_off, b.owed,
                                     b.on_hand), start=3):
            ws.write_number(r, col, value, f["number"])
    if rows:
        ws.autofilter(0, 0, len(rows), len(TONKHO_HEADERS) - 1)


def _write_ledger(ws: Any, rows: Sequence[MovementDTO], f: dict[str, Any]) -> None:
    _header(ws, SOKHO_HEADERS, (17, 15, 32, 30, 10, 30, 18, 36, 13), f["header"])
    for r, m in enumerate(rows, start=1):
        ws.write_datetime(r, 0, local_time(m.at), f["datetime"])
        _text(ws, r, 1, MOVEMENT_LABELS.get(m.kind, m.kind))
        _text(ws, r, 2, m.item_name)
        _text(ws, r, 3, m.location)
        ws.write_number(r, 4, m.quantity, f["signed"])
        _text(ws, r, 5, m.other_location)
        _text(ws, r, 6, m.by)
        _text(ws, r, 7, m.reason)
        _text(ws, r, 8, m.msisdn, f["text"])
    if rows:
        ws.autofilter(0, 0, len(rows), len(SOKHO_HEADERS) - 1)


def _write_owed(ws: Any, rows: Sequence[OwedDTO], f: dict[str, Any], today: dt.date) -> None:
    _header(ws, QUANO_HEADERS, (13, 26, 32, 30, 12, 12, 9), f["header"])
    for r, o in enumerate(rows, start=1):
        _text(ws, r, 0, o.msisdn, f["text"])
        _text(ws, r, 1, o.name)
        _text(ws, r, 2, o.item_name)
        _text(ws, r, 3, o.location)
        if o.owed_at is not None:
            owed_on = local_time(o.owed_at).date()
            ws.write_datetime(r, 4, dt.datetime.combine(owed_on, dt.time()), f["date"])
        if o.promised_on is not None:
            ws.write_datetime(r, 5, dt.datetime.combine(o.promised_on, dt.time()), f["date"])
            if o.promised_on < today:
                ws.write_string(r, 6, OVERDUE_TEXT)
    if rows:
        ws.autofilter(0, 0, len(rows), len(QUANO_HEADERS) - 1)
