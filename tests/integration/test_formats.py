"""File kinds and layouts that the end-to-end tests elsewhere do not cover."""

from __future__ import annotations

import shutil
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from mbfcare.domain.actors import Actor
from mbfcare.models import Charge, Subscriber
from mbfcare.services.importing import import_subscribers

HEADER = ["STT", "Số TB", "Họ tên", "Loại TB", "Trạng thái", "Cước 12/2016", "Cước 01/2017",
          "Cước 02/2017"]


def _workbook(path: Path, rows: list[list[object]]) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "DS"
    sheet.append(["DANH SÁCH THUÊ BAO"])
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


@pytest.mark.usefixtures("programme_id")
def test_xlsm_is_read_like_xlsx(factory: sessionmaker[Session], tmp_path: Path) -> None:
    source = _workbook(tmp_path / "a.xlsx", [[1, "0901234567", "Lê Văn Tám", "TS", "2C",
                                              800000, "750.000", 701000]])
    target = tmp_path / "danh sách tháng 3.xlsm"
    shutil.copy(source, target)
    result = import_subscribers(factory, target, actor=Actor("test"))
    assert (result.imported, result.rejected, result.sheet) == (1, 0, "DS")
    with factory() as session:
        sub = session.scalars(select(Subscriber)).one()
        assert (sub.msisdn, sub.name, sub.subscriber_type) == ("0901234567", "Lê Văn Tám",
                                                               "postpaid")
        amounts = sorted(session.scalars(select(Charge.amount)))
        assert amounts == [701000, 750000, 800000]


@pytest.mark.usefixtures("programme_id")
def test_header_repeated_on_a_later_page_is_not_a_row(factory: sessionmaker[Session],
                                                       tmp_path: Path) -> None:
    rows: list[list[object]] = [[1, "0901234567", "An", "TT", "2C", 1, 2, 3],
                                HEADER,
                                [2, "0901234568", "Bình", "TT", "2C", 4, 5, 6]]
    path = _workbook(tmp_path / "pages.xlsx", rows)
    result = import_subscribers(factory, path, actor=Actor("test"))
    assert (result.rows_read, result.imported, result.rejected) == (2, 2, 0)


@pytest.mark.usefixtures("programme_id")
def test_number_cell_holding_a_float_keeps_every_digit(factory: sessionmaker[Session],
                                                       tmp_path: Path) -> None:
    path = _workbook(tmp_path / "floats.xlsx", [[1, 84912345678, "An", "TT", "2C", 1, 2, 3],
                                                [2, 912345679.0, "Bình", "TT", "2C", 4, 5, 6]])
    result = import_subscribers(factory, path, actor=Actor("test"))
    assert result.imported == 2
    with factory() as session:
        numbers = sorted(session.scalars(select(Subscriber.msisdn)))
    assert numbers == ["0912345678", "0912345679"]
