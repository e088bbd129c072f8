"""The `mbfcare survey` commands over a real database."""

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
from mbfcare.domain.actors import Actor
from mbfcare.models import CareCase, SurveyResponse
from mbfcare.services import care_work, stock
from tests.accounts_data import add_account, sign_in_as
from tests.care_data import GROUP1, GROUP2, STORE, seed_listed

G1, G2 = list(GROUP1), list(GROUP2)
ADMIN = Actor("lan", "admin")
DAY = dt.date(2017, 3, 10)


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
def db(db_url: str, factory: sessionmaker[Session], programme_id: int) -> str:
    """Batch 1 listed; the first of group 1 and of group 2 handed over on DAY."""
    seed_listed(factory, programme_id)
    stock.move_stock(factory, "receive", "balo-keo", 2, actor=ADMIN)
    stock.move_stock(factory, "receive", "o-2-khuc", 2, actor=ADMIN, location=STORE)
    care_work.record_handover(factory, G1[0], actor=ADMIN, on=DAY)
    care_work.record_handover(factory, G2[0], actor=ADMIN, on=DAY,
                              item_code="o-2-khuc")
    return db_url


def test_show_prints_the_form(db: str) -> None:
    code, text = run("--db", db, "survey", "show")
    assert code == 0, text
    lines = text.splitlines()
    assert lines[0] == "Phiếu khảo sát ý kiến khách hàng (phiên bản 1, 0 phiếu đã nhập)"
    assert ("Câu 1 (overall) [1–5, bắt buộc]: Nhìn chung, Anh/Chị hài lòng với dịch vụ của "
            "MobiFone ở mức nào?") in lines
    assert "    1 = Rất không hài lòng · 5 = Rất hài lòng" in lines
    assert "    3 Data 3G/4G" in lines
    data = run_json("--db", db, "survey", "show")
    assert data["version"] == 1 and data["programme_id"] == 1
    assert [q["key"] for q in data["definition"]["question"]][:2] == ["overall", "network"]


def test_enter_then_export(db: str, factory: sessionmaker[Session], tmp_path: Path) -> None:
    number = G1[0]
    data = run_json("--db", db, "--user", "hà", "survey", "enter", number,
                    "--answer", "overall=4", "--answer", "network=5",
                    "--answer", "customer_care=4/5", "--answer", "gift=5",
                    "--answer", "services=1 3", "--answer", "recommend=co",
                    "--answer", "contact_channel=3", "--answer", "suggestions=Cảm ơn")
    assert data["answered_on"] == "2017-03-10" and data["step_recorded"] is True
    with factory() as session:
        response = session.scalars(select(SurveyResponse)).one()
        case = session.get(CareCase, response.care_case_id)
        assert case is not None and case.survey_on == DAY
    assert response.answers == {"overall": 4, "network": 5, "customer_care": 4, "gift": 5,
                                "services": ["Gọi điện", "Data 3G/4G"], "recommend": "Có",
                                "contact_channel": "Zalo", "suggestions": "Cảm ơn"}
    assert response.entered_by == "hà"

    out = tmp_path / "icrm.xlsx"
    code, text = run("--db", db, "survey", "export", "--out", str(out), "--batch", "1")
    assert code == 0, text
    assert text.strip() == f"Đã xuất 1 phiếu khảo sát cho iCRM: {out}"
    ws = openpyxl.load_workbook(out).active
    assert ws is not None
    header, row = list(ws.iter_rows(values_only=True))
    assert header[0] == "Số thuê bao" and row[0] == number
    assert row[5:13] == (4, 5, 4, 5, "Gọi điện; Data 3G/4G", "Có", "Zalo", "Cảm ơn")
    again = run_json("--db", db, "survey", "export", "--out", str(tmp_path / "new.csv"),
                     "--new-only")
    assert again["rows"] == 0 and again["format"] == "csv" and again["only_new"] is True


def test_refusals_and_exit_codes(db: str, tmp_path: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    answers = ["--answer", "overall=4", "--answer", "network=5", "--answer",
               "customer_care=4", "--answer", "gift=5", "--answer", "services=1",
               "--answer", "recommend=1", "--answer", "contact_channel=1"]
    not_met = G1[1]
    assert run("--db", db, "survey", "enter", not_met, *answers)[0] == 4
    assert "gặp khách hàng" in capsys.readouterr().err
    assert run("--db", db, "survey", "enter", G1[0], *answers[:-2])[0] == 2
    assert "Câu 7: câu này bắt buộc" in capsys.readouterr().err
    assert run("--db", db, "survey", "enter", G1[0], *answers,
               "--answer", "overall")[0] == 2
    assert run("--db", db, "survey", "enter", G1[0], *answers,
               "--answer", "mood=1")[0] == 2
    assert "không có câu 'mood'" in capsys.readouterr().err
    # Stored once; a second, different entry needs a reason (and the right role).
    first = G1[0]
    assert run("--db", db, "survey", "enter", first, *answers)[0] == 0
    changed = [a.replace("overall=4", "overall=2") for a in answers]
    assert run("--db", db, "survey", "enter", first, *changed)[0] == 2
    assert "cần ghi lý do" in capsys.readouterr().err
    data = run_json("--db", db, "survey", "enter", first, *changed, "--reason", "gõ nhầm")
    assert data["replaced"] is True
    assert run("--db", db, "survey", "export", "--out", str(tmp_path / "x.txt"))[0] == 2


def test_set_form(db: str, factory: sessionmaker[Session], tmp_path: Path,
                  monkeypatch: pytest.MonkeyPatch,
                  capsys: pytest.CaptureFixture[str]) -> None:
    toml = tmp_path / "form.toml"
    toml.write_text('title = "Phiếu ngắn"\n\n[[question]]\nkey = "overall"\n'
                    'text = "Mức hài lòng?"\nkind = "scale"\n\n[[question]]\n'
                    'key = "channel"\ntext = "Kênh?"\nkind = "single"\n'
                    'options = ["SMS", "Zalo"]\n', encoding="utf-8")
    data = run_json("--db", db, "survey", "set-form", str(toml))
    assert data["version"] == 2
    assert any(line.startswith("Bỏ câu 'gift'") for line in data["changes"])
    _code, text = run("--db", db, "survey", "show")
    assert text.splitlines()[0] == "Phiếu ngắn (phiên bản 2, 0 phiếu đã nhập)"
    bad = tmp_path / "bad.toml"
    bad.write_text('title = "X"\n[[question]]\nkey = "a"\ntext = "?"\nkind = "colour"\n',
                   encoding="utf-8")
    assert run("--db", db, "survey", "set-form", str(bad))[0] == 2
    assert "bad.toml: Câu 1 (a): loại câu hỏi 'colour' không có" in capsys.readouterr().err
    assert run("--db", db, "survey", "set-form", str(tmp_path / "none.toml"))[0] == 2
    add_account(factory, "lan", "clerk", store=STORE)
    sign_in_as(monkeypatch, "lan")
    assert run("--db", db, "survey", "set-form", str(toml))[0] == 4
    assert "không được thay đổi chương trình" in capsys.readouterr().err
