"""Files refused as a whole: exit 3, one Vietnamese sentence naming the file, nothing stored."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from openpyxl import Workbook

from mbfcare.cli import main
from mbfcare.db import make_engine, make_session_factory
from mbfcare.io.synthetic import MessyOptions, generate_subscribers, write_xlsx
from mbfcare.services.importing import stored_counts

VIETNAMESE = set("ăâđêôơưáàảãạấầẩẫậắằẳẵặéèẻẽẹếềểễệíìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵ")


def _empty(path: Path) -> Path:
    path = path.with_name("rong.xlsx")
    path.write_bytes(b"")
    return path


def _png(path: Path) -> Path:
    path = path.with_name("anh.png")
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10"
                     + bytes(range(256)) * 8)
    return path


def _pdf(path: Path) -> Path:
    path = path.with_name("bao-cao.pdf")
    body = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\nstream\n"
    path.write_bytes(body + bytes(range(128, 256)) * 16 + b"\x00\x01\x02endstream\n%%EOF\n")
    return path


def _plain_text(path: Path) -> Path:
    path = path.with_name("ghi-chu.csv")
    path.write_text("Đây là một ghi chú\nkhông có cột nào\nchỉ là văn bản\n", encoding="utf-8")
    return path


def _zip_not_workbook(path: Path) -> Path:
    path = path.with_name("nen.xlsx")
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "không phải bảng tính")
        archive.writestr("data/list.csv", "a,b\n1,2\n")
    return path


def _real_xlsx(path: Path) -> Path:
    subs = generate_subscribers(200, seed=9)
    return write_xlsx(path.with_name("that.xlsx"), subs, MessyOptions(), seed=9).path


def _truncated_xlsx(path: Path) -> Path:
    data = _real_xlsx(path).read_bytes()
    target = path.with_name("cat-do.xlsx")
    target.write_bytes(data[: len(data) // 2])
    return target


def _xlsx(path: Path, name: str, rows: list[list[object]]) -> Path:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Danh sách"
    for row in rows:
        ws.append(row)
    target = path.with_name(name)
    wb.save(target)
    return target


def _no_number_column(path: Path) -> Path:
    return _xlsx(path, "khong-so.xlsx", [
        ["Họ tên", "Loại TB", "Trạng thái", "Cước T-3", "Cước T-4", "Cước T-5"],
        ["Nguyễn Văn An", "Trả trước", "Hoạt động 2 chiều", 700000, 700000, 700000],
        ["Trần Thị Bình", "Trả sau", "2C", 600000, 650000, 610000],
    ])


def _no_status_column(path: Path) -> Path:
    return _xlsx(path, "thieu-trang-thai.xlsx", [
        ["Số thuê bao", "Họ tên", "Loại TB", "Cước T-3", "Cước T-4", "Cước T-5"],
        ["0901234567", "Nguyễn Văn An", "Trả trước", 700000, 700000, 700000],
        ["0931234567", "Trần Thị Bình", "Trả sau", 600000, 650000, 610000],
    ])


def _encrypted(path: Path) -> Path:
    target = path.with_name("mat-khau.xlsx")
    target.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 1024
                       + "EncryptionInfo".encode("utf-16-le") + b"\x00" * 4096)
    return target


def _zip_bomb(path: Path) -> Path:
    target = path.with_name("bom.xlsx")
    block = bytes(1024 * 1024)
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as member:
            for _ in range(300):
                member.write(block)
    return target


def _directory(path: Path) -> Path:
    target = path.with_name("thu-muc.xlsx")
    target.mkdir()
    return target


MAKERS: dict[str, Callable[[Path], Path]] = {
    "empty": _empty,
    "png": _png,
    "pdf": _pdf,
    "text_without_delimiter": _plain_text,
    "zip_not_workbook": _zip_not_workbook,
    "truncated_xlsx": _truncated_xlsx,
    "no_number_column": _no_number_column,
    "no_status_column": _no_status_column,
    "encrypted": _encrypted,
    "zip_bomb": _zip_bomb,
    "directory": _directory,
}


@pytest.mark.parametrize("kind", sorted(MAKERS))
def test_bad_file_is_refused(kind: str, db_url: str, tmp_path: Path,
                             capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    bad = MAKERS[kind](folder / "x")
    assert main(["--db", db_url, "programme", "create", "--json"], out=io.StringIO()) == 0
    capsys.readouterr()
    engine = make_engine(db_url)
    factory = make_session_factory(engine)
    try:
        before = stored_counts(factory)
        out = io.StringIO()
        code = main(["--db", db_url, "import", "subscribers", str(bad), "--care-month",
                     "05/2017", "--json"], out=out)
        err = capsys.readouterr().err
        assert code == 3, err
        assert out.getvalue() == ""
        assert "Traceback" not in err
        lines = [line for line in err.splitlines() if line.strip()]
        assert len(lines) == 1, err
        assert bad.name in lines[0], lines[0]
        assert VIETNAMESE & set(lines[0].lower()), lines[0]
        assert stored_counts(factory) == before
    finally:
        engine.dispose()
