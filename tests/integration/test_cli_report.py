"""The `mbfcare report progress|survey|stock` command, in-process over a real database."""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pypdf
import pytest
from sqlalchemy.orm import Session, sessionmaker

from mbfcare.cli import main
from mbfcare.db import make_engine, make_session_factory
from mbfcare.domain.actors import Actor
from mbfcare.services import care_work, stock
from mbfcare.services.surveys import save_response
from tests.care_data import GROUP1, GROUP2, STORE, seed_listed

LAN = Actor("Nguyễn Thị Lan", "admin")
AN, DUNG = "0901000001", "0901000002"


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


def run_json(*argv: str) -> dict[str, Any]:
    code, text = run(*argv, "--json")
    assert code == 0, text
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text
    result: dict[str, Any] = json.loads(lines[0])
    return result


@pytest.fixture
def db(db_url: str) -> Iterator[str]:
    """Batch 1 of `care_data` with some work: two home visits, three store pick-ups (one
    owed), one refusal and a survey answered."""
    assert run_json("--db", db_url, "programme", "create") == {"programme_id": 1}
    engine = make_engine(db_url)
    factory: sessionmaker[Session] = make_session_factory(engine)
    seed_listed(factory, 1)
    day = dt.date(2017, 3, 6)
    stock.move_stock(factory, "receive", "balo-keo", 5, actor=LAN)
    stock.move_stock(factory, "receive", "o-2-khuc", 2, actor=LAN, location=STORE)
    for number in (AN, DUNG):
        care_work.record_step(factory, number, "sms", actor=LAN, on=day)
        care_work.record_handover(factory, number, actor=LAN, item_code="balo-keo",
                                  on=day + dt.timedelta(days=2), by="Trưởng MF Hà")
    store_people = list(GROUP2)[:4]
    for number in store_people[:3]:
        care_work.record_step(factory, number, "sms", actor=LAN, on=day)
        care_work.record_handover(factory, number, actor=LAN, item_code="o-2-khuc",
                                  on=day + dt.timedelta(days=3), by="GDV Minh",
                                  owed=number == store_people[2],
                                  promised_on=care_work.local_today() + dt.timedelta(days=3))
    care_work.record_outcome(factory, store_people[3], "refused", actor=LAN, on=day)
    save_response(factory, 1, AN, {"overall": 5, "network": 4, "customer_care": 5,
                                   "gift": 5, "services": ["Gọi điện", "SMS"],
                                   "recommend": "Có", "contact_channel": "Zalo",
                                   "suggestions": "Quà rất đẹp, cảm ơn MobiFone."},
                  actor=LAN, answered_on=day + dt.timedelta(days=2))
    engine.dispose()
    yield db_url


@pytest.mark.parametrize("kind", ["progress", "survey", "stock"])
def test_report_pdf(db: str, tmp_path: Path, kind: str) -> None:
    out = tmp_path / f"{kind}.pdf"
    data = run_json("--db", db, "--user", "Nguyễn Thị Lan", "report", kind, "--out", str(out))
    assert {"file", "kind", "format", "rows", "pages"} <= set(data)
    assert data["file"] == str(out) and data["kind"] == kind and data["format"] == "pdf"
    reader = pypdf.PdfReader(out)
    assert data["pages"] == len(reader.pages) >= 1
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert "Nguyễn Thị Lan" in text and "MOBIFONE THÀNH PHỐ HẢI PHÒNG" in text
    if kind == "progress":
        assert data["rows"] == 4  # group 1 in Lê Chân and Hồng Bàng, group 2, the gap case
        assert "BÁO CÁO TIẾN ĐỘ CHƯƠNG TRÌNH" in text and "Hồng Bàng" in text
        assert "theo quận/huyện" in text
    elif kind == "survey":
        assert data["rows"] == 1
        assert "Quà rất đẹp, cảm ơn MobiFone." in text.replace("\n", " ")
    else:
        # balo-keo at the warehouse, o-2-khuc at the store, hop-thuc-pham never received
        assert data["rows"] == 3
        assert "BIÊN BẢN QUYẾT TOÁN QUÀ TẶNG" in text
        assert "Nguyễn Văn An" in text and "Phạm Thị Dung" in text


def test_report_xlsx(db: str, tmp_path: Path) -> None:
    out = tmp_path / "tien-do.xlsx"
    data = run_json("--db", db, "report", "progress", "--batch", "1", "--out", str(out))
    assert data == {"file": str(out), "kind": "progress", "format": "xlsx", "rows": 4,
                    "programme_id": 1, "batch": 1, "sheets": {"TienDo": 6}}
    ws = openpyxl.load_workbook(out)["TienDo"]
    headers = [c.value for c in ws[1]]
    values = {row[3]: dict(zip(headers, row, strict=True))
              for row in ws.iter_rows(min_row=2, values_only=True)}
    total = values["Tổng cộng"]
    assert total["Trong danh sách"] == len(GROUP1) + len(GROUP2) + 1
    assert total["Đã gửi SMS"] == 5 and total["Đã trao quà"] == 4 and total["Nợ quà"] == 1
    assert total["Đã tiếp cận"] == 5 and total["Từ chối"] == 1 and total["Đã khảo sát"] == 1
    assert values["Hồng Bàng"]["Đã trao quà"] == 1

    out = tmp_path / "kho.xlsx"
    data = run_json("--db", db, "report", "stock", "--out", str(out))
    assert data["sheets"] == {"KhoQua": 3 + 3 + 1, "ChiTietTrao": 4}  # lines, items, total
    rows = list(openpyxl.load_workbook(out)["KhoQua"].iter_rows(min_row=2, values_only=True))
    balo = next(r for r in rows if r[1] == "balo-keo" and r[3] == "Kho")
    assert balo[4:13] == (5, 0, 0, 2, 0, 0, 0, 3, 0)
    store = next(r for r in rows if r[1] == "o-2-khuc" and r[3] == STORE)
    assert store[4:13] == (2, 0, 0, 2, 1, 0, 0, 0, 0)


def test_report_text_output(db: str, tmp_path: Path) -> None:
    out = tmp_path / "ks.xlsx"
    code, text = run("--db", db, "report", "survey", "--out", str(out))
    assert code == 0
    assert text.strip() == f"Đã xuất báo cáo kết quả khảo sát ý kiến khách hàng ra tệp Excel: {out}"


def test_report_errors(db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = run("--db", db, "report", "progress", "--batch", "7", "--out",
                  str(tmp_path / "x.pdf"))
    assert code == 4
    assert "không có đợt 7" in capsys.readouterr().err
    code, _ = run("--db", db, "report", "progress", "--out", str(tmp_path / "x.csv"))
    assert code == 2
    assert ".pdf hoặc .xlsx" in capsys.readouterr().err
    code, _ = run("--db", db, "report", "progress", "--out", str(tmp_path / "no" / "x.pdf"))
    assert code == 2
    code, _ = run("--db", db, "report", "sales", "--out", str(tmp_path / "x.pdf"))
    assert code == 2
    code, _ = run("--db", db, "report", "stock")
    assert code == 2
    assert not list(tmp_path.glob("x.*"))
