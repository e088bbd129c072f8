"""`mbfcare profile record|export` and `mbfcare import offers`, through `main`."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from mbfcare.cli import main
from mbfcare.models import ProfileCollection, Subscriber
from mbfcare.services import care_work as cw
from tests.accounts_data import add_account, sign_in_as
from tests.care_data import seed_listed

TODAY = cw.local_today()


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


def run_json(*argv: str) -> dict[str, Any]:
    code, text = run(*argv, "--json")
    assert code == 0, text
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text
    return json.loads(lines[0])


@pytest.fixture
def db(factory: sessionmaker[Session], programme_id: int, db_url: str,
       monkeypatch: pytest.MonkeyPatch) -> str:
    seed_listed(factory, programme_id)
    return db_url


COLLECT = ("--name", "phạm thị dung", "--id", "031180001234", "--birth", "05/09/1980",
           "--address", "12 Lê Lợi, Lê Chân, Hải Phòng")


def test_profile_record_then_export(db: str, factory: sessionmaker[Session],
                                    tmp_path: Path) -> None:
    data = run_json("--db", db, "--user", "lan", "profile", "record", "0901 000 002", *COLLECT)
    assert data["msisdn"] == "0901000002" and data["name"] == "Phạm Thị Dung"
    assert (data["id_kind"], data["changed"], data["step_recorded"]) == ("cccd", True, True)
    assert data["on"] == TODAY.isoformat()
    assert "031180001234" not in json.dumps(data)
    with factory() as session:
        row = session.scalars(select(ProfileCollection)).one()
        assert (row.id_number, row.collected_by) == ("031180001234", "lan")

    code, text = run("--db", db, "profile", "record", "0901000002", *COLLECT)
    assert code == 0
    assert text.strip() == "Thông tin của Phạm Thị Dung (0901 000 002) đã có sẵn, không " \
                           "thay đổi."

    out = tmp_path / "icrm.xlsx"
    exported = run_json("--db", db, "profile", "export", "--out", str(out))
    assert exported == {"file": str(out), "format": "xlsx", "rows": 1,
                        "programme_id": exported["programme_id"], "only_new": False}
    ws = openpyxl.load_workbook(out).active
    assert ws is not None
    assert [c.value for c in ws[2]][:5] == ["0901000002", "Phạm Thị Dung", "CCCD",
                                            "031180001234", dt.datetime(1980, 9, 5)]
    again = run_json("--db", db, "profile", "export", "--out", str(tmp_path / "new.csv"),
                     "--new-only")
    assert (again["rows"], again["format"]) == (0, "csv")
    code, text = run("--db", db, "profile", "export", "--out", str(tmp_path / "new.csv"),
                     "--new-only")
    assert code == 0 and "Không có thông tin thu thập mới nào để xuất" in text


def test_profile_record_refusals(db: str, factory: sessionmaker[Session],
                                 capsys: pytest.CaptureFixture[str],
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    # Every wrong field named at once, exit 2.
    code, out = run("--db", db, "profile", "record", "0901000002", "--name", "Dung",
                    "--id", "03118000123", "--birth", "05/09/1980", "--address", "12 Lê Lợi")
    assert (code, out) == (2, "")
    err = capsys.readouterr().err
    assert "Họ tên phải có ít nhất hai chữ" in err
    assert "Số CCCD phải có 12 chữ số (đã nhập 11)." in err
    assert "Traceback" not in err

    # The CCCD's year disagrees with the date of birth.
    code, _ = run("--db", db, "profile", "record", "0901000002", "--name", "Phạm Thị Dung",
                  "--id", "031180001234", "--birth", "05/09/1985", "--address", "12 Lê Lợi")
    assert code == 2
    assert "ghi năm sinh 1980" in capsys.readouterr().err

    # A correction needs a reason (exit 2), then the right to correct (exit 4).
    run_json("--db", db, "profile", "record", "0901000002", *COLLECT)
    changed = [*COLLECT[:5], "06/09/1980", *COLLECT[6:]]
    assert run("--db", db, "profile", "record", "0901000002", *changed)[0] == 2
    assert "cần ghi lý do" in capsys.readouterr().err
    add_account(factory, "lan", "clerk", store="Cửa hàng MobiFone Lê Chân")
    sign_in_as(monkeypatch, "lan")
    assert run("--db", db, "profile", "record", "0901000002", *changed, "--reason", "nhầm")[0] \
        == 4
    sign_in_as(monkeypatch, "quantri")
    fixed = run_json("--db", db, "profile", "record", "0901000002", *changed, "--reason",
                     "gõ nhầm ngày sinh")
    assert (fixed["changed"], fixed["replaced"]) == (True, True)

    # Not on a list: exit 4; a missing option: exit 2.
    assert run("--db", db, "profile", "record", "0999999999", *COLLECT)[0] == 4
    assert run("--db", db, "profile", "record", "0901000002", "--name", "A B")[0] == 2
    assert run("--db", db, "profile", "export", "--out", "x.pdf")[0] == 2


def test_profile_record_at_a_date(db: str, factory: sessionmaker[Session]) -> None:
    day = TODAY - dt.timedelta(days=2)
    data = run_json("--db", db, "profile", "record", "0902000003", *COLLECT[:2],
                    "--id", "012345678", *COLLECT[4:], "--at", day.isoformat())
    assert data["on"] == day.isoformat() and data["id_kind"] == "cmnd"
    with factory() as session:
        row = session.scalars(select(ProfileCollection)).one()
        assert row.collected_on == day


def _offers_file(path: Path) -> Path:
    book = openpyxl.Workbook()
    ws = book.active
    assert ws is not None
    ws.append(["DANH SÁCH GÓI CƯỚC ƯU ĐÃI"])
    ws.append(["Số thuê bao", "Gói cước ưu đãi"])
    ws.append([901000002, "D120, MAX90"])
    ws.append(["0999999999", "MAX90"])
    book.save(path)
    return path


def test_import_offers(db: str, factory: sessionmaker[Session], tmp_path: Path) -> None:
    path = _offers_file(tmp_path / "goi.xlsx")
    dry = run_json("--db", db, "import", "offers", str(path), "--dry-run")
    assert (dry["kind"], dry["dry_run"], dry["imported"], dry["rejected"]) == (
        "offers", True, 1, 1)
    with factory() as session:
        assert session.scalar(select(Subscriber.offers).where(
            Subscriber.msisdn == "0901000002")) is None
    code, text = run("--db", db, "--user", "lan", "import", "offers", str(path))
    assert code == 0
    assert "tiêu đề ở dòng 2" in text
    assert "Đã nhập gói cước ưu đãi: 2 dòng · mới 1 · cập nhật 0 · không đổi 0 · từ chối 1." \
        in text
    assert "Các dòng bị từ chối và lý do:" in text
    with factory() as session:
        assert session.scalar(select(Subscriber.offers).where(
            Subscriber.msisdn == "0901000002")) == "D120, MAX90"
    again = run_json("--db", db, "import", "offers", str(path), "--sheet", "Sheet")
    assert (again["imported"], again["unchanged"], again["sheet"]) == (0, 1, "Sheet")
    assert run("--db", db, "import", "offers", str(tmp_path / "none.xlsx"))[0] == 3
