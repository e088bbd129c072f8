"""`mbfcare consolidate` in-process: provinces' workbooks made with the commands themselves
(`programme create --config`, `classify`, `record`, `export regional`), merged, with JSON output
and exit codes."""

from __future__ import annotations

import datetime as dt
import io
import json
import shutil
import time
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from mbfcare.cli import main
from mbfcare.db import make_engine, make_session_factory
from mbfcare.models import Charge, ImportRun, Subscriber
from mbfcare.paths import reference_file
from mbfcare.uow import UnitOfWork

CYCLES = (201612, 201611, 201610)
# province -> its subscribers: number, district, charges of n-3, n-4, n-5
PEOPLE = {
    "Hải Phòng": [("0911000001", "Lê Chân", (900000, 950000, 1000000)),
                  ("0911000002", "Lê Chân", (600000, 650000, 560000)),
                  ("0911000003", "Hồng Bàng", (610000, 620000, 630000)),
                  ("0919999999", "Hồng Bàng", (800000, 800000, 800000))],
    "Quảng Ninh": [("0912000001", "Hạ Long", (812000, 790000, 905000)),
                   ("0912000002", "Cẩm Phả", (555000, 690000, 700000)),
                   ("0919999999", "Hạ Long", (800000, 810000, 820000))],
}


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


def run_json(*argv: str, code: int = 0) -> dict[str, Any]:
    got, text = run(*argv)
    assert got == code, text
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text
    result: dict[str, Any] = json.loads(lines[0])
    return result


def province_workbook(folder: Path, template: Path, province: str) -> Path:
    """A province's database made with the commands, and its exported workbook."""
    db = folder / f"{province}.sqlite"
    shutil.copy(template, db)
    url = f"sqlite:///{db.as_posix()}"
    config = folder / f"{province}.toml"
    text = reference_file("programme_default.toml").read_text(encoding="utf-8")
    config.write_text(text.replace('region = "MobiFone KV5"',
                                   f'region = "MobiFone KV5"\nprovince = "{province}"'),
                      encoding="utf-8")
    assert run_json("--db", url, "programme", "create", "--config", str(config),
                    "--json") == {"programme_id": 1}
    engine = make_engine(url)
    with UnitOfWork(make_session_factory(engine), write=True) as uow:
        run_ = ImportRun(programme_id=1, kind="subscribers", file_name="t3.xlsx",
                         file_sha256="0" * 64, user="lan",
                         started_at=dt.datetime(2017, 3, 2, tzinfo=dt.UTC))
        uow.session.add(run_)
        uow.session.flush()
        for number, district, charges in PEOPLE[province]:
            sub = Subscriber(msisdn=number, ported=False, subscriber_type="prepaid",
                             status="active", name=f"Khách {number[-3:]}", province=province,
                             district=district, store=f"CH {district}",
                             activation_date=dt.date(2010, 5, 1), profile_standardised=True,
                             first_import_id=run_.id, last_import_id=run_.id)
            uow.session.add(sub)
            uow.session.flush()
            for cycle, amount in zip(CYCLES, charges, strict=True):
                uow.session.add(Charge(subscriber_id=sub.id, cycle=cycle, amount=amount))
        uow.commit()
    engine.dispose()
    assert run_json("--db", url, "classify", "--batch", "1", "--json")["batch"] == 1
    first = PEOPLE[province][0][0]
    assert run("--db", url, "record", "step", first, "--step", "sms", "--at",
               "2017-03-03")[0] == 0
    out = folder / f"{province.replace(' ', '_')}.xlsx"
    assert run_json("--db", url, "export", "regional", "--out", str(out), "--json")["file"] \
        == str(out)
    return out


@pytest.fixture(scope="module")
def workbooks(template_db: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Hải Phòng's workbook, then (one second later) Quảng Ninh's; both list 0919999999."""
    folder = tmp_path_factory.mktemp("cli_provinces")
    hp = province_workbook(folder, template_db, "Hải Phòng")
    time.sleep(1.05 - (time.time() % 1))
    qn = province_workbook(folder, template_db, "Quảng Ninh")
    return {"Hải Phòng": hp, "Quảng Ninh": qn}


def test_consolidate_json(workbooks: dict[str, Path], tmp_path: Path) -> None:
    hp, qn = workbooks["Hải Phòng"], workbooks["Quảng Ninh"]
    out = tmp_path / "kv5.xlsx"
    data = run_json("consolidate", str(hp), str(qn), "--out", str(out), "--json")
    assert data["file"] == str(out) and out.exists()
    assert data["programme"] == "Chăm sóc khách hàng năm 2017" and data["year"] == 2017
    assert [(m["file"], m["province"], m["rows"], m["kept"]) for m in data["merged"]] == [
        (str(hp), "Hải Phòng", 4, 3), (str(qn), "Quảng Ninh", 3, 3)]
    assert data["refused"] == []
    [dup] = data["duplicates"]
    assert dup["msisdn"] == "0919999999"
    assert (dup["kept"]["file"], dup["kept"]["province"]) == (str(qn), "Quảng Ninh")
    assert [(a["file"], a["province"]) for a in dup["also_in"]] == [(str(hp), "Hải Phòng")]
    assert data["rows"] == 6 and data["sheets"]["ChiTiet"] == 6
    assert data["problems"] == 2  # the pair of files, and the copy left out
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["ChiTiet", "TongHop", "VanDe", "ThongTin"]
    info = dict(r for r in wb["ThongTin"].iter_rows(min_row=2, values_only=True))
    assert info["SHA-256 ChiTiet"] == data["sha256"]
    assert info["Tỉnh/TP"] == "Hải Phòng, Quảng Ninh"
    totals = {r[0]: r[4:9] for r in wb["TongHop"].iter_rows(min_row=2, values_only=True)
              if r[3] == "Tổng cộng"}
    assert totals == {"Hải Phòng": (3, 1, 0, 0, 3), "Quảng Ninh": (3, 1, 0, 0, 3),
                      "Toàn vùng": (6, 2, 0, 0, 6)}


def test_consolidate_text(workbooks: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "kv5.xlsx"
    code, text = run("consolidate", str(workbooks["Hải Phòng"]), str(workbooks["Quảng Ninh"]),
                     "--out", str(out))
    assert code == 0, text
    lines = text.splitlines()
    assert lines[0] == ("Đã tổng hợp 2 tệp của chương trình 'Chăm sóc khách hàng năm 2017' "
                        f"(6 thuê bao) vào: {out}")
    assert lines[1] == "  Đã gộp: Hải_Phòng.xlsx – Hải Phòng, 3/4 dòng"
    assert lines[2] == "  Đã gộp: Quảng_Ninh.xlsx – Quảng Ninh, 3/3 dòng"
    assert "Thuê bao trùng: 1" in text and lines[-1].startswith("SHA-256 ChiTiet: ")


def test_refused_files_are_named_and_the_rest_merged(workbooks: dict[str, Path],
                                                     tmp_path: Path) -> None:
    edited = tmp_path / "hai_phong_sua.xlsx"
    wb = openpyxl.load_workbook(workbooks["Hải Phòng"])
    ws = wb["ChiTiet"]
    row = next(r for r in range(2, ws.max_row + 1) if ws.cell(r, 8).value == "0911000002")
    ws.cell(row, 14).value = 700000  # Mức cước căn cứ raised after export
    wb.save(edited)
    text_file = tmp_path / "ghi_chu.xlsx"
    text_file.write_text("đây là, một tệp văn bản\n", encoding="utf-8")
    out = tmp_path / "kv5.xlsx"
    data = run_json("--json", "consolidate", str(edited), str(text_file),
                    str(workbooks["Quảng Ninh"]), "--out", str(out))
    assert [m["province"] for m in data["merged"]] == ["Quảng Ninh"]
    assert data["duplicates"] == [] and data["rows"] == 3
    refused = {r["file"]: r for r in data["refused"]}
    assert refused[str(edited)]["code"] == "edited"
    assert refused[str(edited)]["reason"].startswith("Tệp đã bị sửa sau khi xuất")
    assert refused[str(text_file)]["code"] == "unreadable"
    problems = list(openpyxl.load_workbook(out)["VanDe"].iter_rows(min_row=2, values_only=True))
    [shown] = [p for p in problems if p[2] == "ChiTiet"]
    assert shown[:5] == (edited.name, "Hải Phòng", "ChiTiet", row, "0911000002")
    assert "Mức cước căn cứ 700.000 đ khác mức thấp nhất của ba chu kỳ (560.000 đ" in shown[5]


def test_nothing_usable_exits_3(workbooks: dict[str, Path], tmp_path: Path,
                                capsys: pytest.CaptureFixture[str]) -> None:
    text_file = tmp_path / "a.xlsx"
    text_file.write_text("Số thuê bao,Họ tên\n0912345678,An\n", encoding="utf-8")
    out = tmp_path / "kv5.xlsx"
    capsys.readouterr()
    code, printed = run("consolidate", str(text_file), "--out", str(out), "--json")
    assert code == 3 and printed == ""
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["Lỗi: Không gộp được tệp nào: a.xlsx – Không phải tệp Excel .xlsx xuất từ "
                   "MBF Care (đây là tệp văn bản, có thể chỉ bị đổi đuôi)."]
    assert not out.exists()


def test_wrong_usage_exits_2(workbooks: dict[str, Path], tmp_path: Path,
                             capsys: pytest.CaptureFixture[str]) -> None:
    hp = str(workbooks["Hải Phòng"])
    assert run("consolidate", "--out", str(tmp_path / "kv5.xlsx"))[0] == 2  # no file
    assert run("consolidate", hp)[0] == 2  # --out is required
    capsys.readouterr()
    assert run("consolidate", hp, "--out", str(tmp_path / "kv5.csv"))[0] == 2
    assert "phải có đuôi .xlsx" in capsys.readouterr().err
    assert run("consolidate", hp, "--out", hp)[0] == 2
    assert "trùng với một tệp cần gộp" in capsys.readouterr().err
    assert run("consolidate", "--help")[0] == 0
    assert "tệp .xlsx của các tỉnh" in capsys.readouterr().out
