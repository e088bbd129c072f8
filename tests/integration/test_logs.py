"""The log file records what happened, never a subscriber's number or ID number."""

from __future__ import annotations

import io
import re
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from mbfcare.cli import main
from mbfcare.io.synthetic import MessyOptions, generate_subscribers, write_csv, write_xlsx
from mbfcare.logs import mask_numbers
from tests.care_data import GROUP2, STORE, seed_listed


def test_import_is_logged_without_personal_numbers(db_url: str, data_home: Path, tmp_path: Path
                                                   ) -> None:
    subs = generate_subscribers(200, seed=11)
    written = write_csv(tmp_path / "extract.csv", subs)
    care = written.care_month
    care_text = care if isinstance(care, str) else f"{care[1]:02d}/{care[0]}"
    assert main(["--db", db_url, "programme", "create"], out=io.StringIO()) == 0
    out = io.StringIO()
    code = main(["--db", db_url, "import", "subscribers", str(written.path),
                 "--care-month", care_text], out=out)
    assert code == 0
    log = (data_home / "logs" / "mbfcare.log").read_text(encoding="utf-8")
    assert "import subscribers" in log
    assert "200 rows" in log or f"{written.data_rows} rows" in log
    for sub in subs:
        assert sub.msisdn not in log
        assert sub.msisdn[1:] not in log
        if sub.id_number:
            assert sub.id_number not in log
    assert not re.search(r"\b0\d{9}\b", log)


def test_handovers_exports_and_prints_are_logged_without_personal_numbers(
        db_url: str, data_home: Path, tmp_path: Path) -> None:
    from mbfcare.db import open_database
    from tests.care_data import GAP, GROUP1, GROUP2, seed_listed

    def run(*argv: str) -> None:
        out = io.StringIO()
        assert main(["--db", db_url, *argv], out=out) == 0, out.getvalue()

    run("programme", "create")
    _, factory = open_database(db_url)
    seed_listed(factory, 1)
    for item in ("balo-keo", "hop-thuc-pham", "o-2-khuc"):
        run("stock", "receive", "--item", item, "--qty", "5")
        run("stock", "receive", "--item", item, "--qty", "5", "--location",
            "Cửa hàng MobiFone Lê Chân")
    run("record", "handover", "0902000001", "--item", "o-2-khuc")
    run("record", "handover", "0901000001", "--note", "Vợ nhận hộ, gọi 0987654321")
    run("profile", "record", "0901000002", "--name", "Phạm Thị Dung", "--id", "031180001234",
        "--birth", "05/09/1980", "--address", "12 Lê Lợi")
    run("list", "--out", str(tmp_path / "ds.xlsx"))
    run("export", "regional", "--out", str(tmp_path / "kv5.xlsx"))
    run("sms", "--batch", "1", "--out", str(tmp_path / "sms.csv"))
    run("print", "receipts", "--batch", "1", "--out", str(tmp_path / "bb.pdf"))
    run("profile", "export", "--out", str(tmp_path / "icrm.csv"))
    run("report", "stock", "--out", str(tmp_path / "kho.xlsx"))
    run("audit", "--out", str(tmp_path / "nhat_ky.csv"))
    log = "\n".join(p.read_text(encoding="utf-8")
                    for p in (data_home / "logs").glob("mbfcare.log*"))
    assert "regional export" in log and "print receipts" in log
    for number in {**GROUP1, **GROUP2, **GAP}:
        assert number not in log and "84" + number[1:] not in log
    assert "031180001234" not in log and "031080001234" not in log
    assert not re.search(r"(?<!\d)0\d{9}(?!\d)", log)  # a whole phone number
    assert not re.search(r"(?<!\d)\d{12}(?!\d)", log)  # a whole CCCD


# A phone number (0xxxxxxxxx, 84xxxxxxxxx) or an ID number (12 or 9 digits) standing alone:
# digits inside a longer token (a hex digest, a file name stamp) are not personal data.
# Digit groups may be separated by spaces or dots, as numbers are shown (0912 345 678).
_DIGIT_RUN = re.compile(r"(?<![0-9A-Za-z])\+?\d(?:[ .]?\d){8,11}(?![0-9A-Za-z])")


def _personal_numbers(text: str) -> list[str]:
    found = []
    for match in _DIGIT_RUN.finditer(text):
        run = "".join(ch for ch in match.group() if ch.isdigit())
        if (len(run) == 10 and run.startswith("0")) or (len(run) == 11 and run.startswith("84")) \
                or len(run) in (9, 12):
            found.append(run)
    return found


def test_debug_logs_of_a_working_day_hold_no_full_number(
        db_url: str, data_home: Path, tmp_path: Path, factory: sessionmaker[Session],
        programme_id: int) -> None:
    """Import a messy extract, record a handover (and a refused second one), collect a
    profile, export: with logging at DEBUG, no log line carries a full number."""
    seed_listed(factory, programme_id)
    subs = generate_subscribers(120, seed=13)
    messy = write_xlsx(tmp_path / "thang5.xlsx", subs,
                       MessyOptions(care_month=(2017, 5), duplicates=3, bad_rows=4), seed=13)
    number, id_number = sorted(GROUP2)[0], "031080001234"
    steps = [
        ["import", "subscribers", str(messy.path), "--care-month", "05/2017"],
        ["stock", "receive", "--item", "o-2-khuc", "--qty", "3", "--location", STORE],
        ["record", "handover", number, "--item", "o-2-khuc"],
        ["record", "handover", number, "--item", "o-2-khuc"],  # refused: logged at DEBUG
        ["record", "step", number, "--step", "survey", "--value", "4"],
        ["profile", "record", number, "--name", "Khách Hàng Số Một", "--id", id_number,
         "--birth", "01/02/1980", "--address", "12 Lê Lợi", "--at", "2017-03-10"],
        ["export", "regional", "--out", str(tmp_path / "kv5.xlsx")],
        ["list", "--out", str(tmp_path / "ds.csv")],
        ["sms", "--batch", "1", "--out", str(tmp_path / "sms.csv")],
        ["profile", "export", "--out", str(tmp_path / "icrm.xlsx")],
    ]
    codes = [main(["--db", db_url, "--debug", *argv], out=io.StringIO()) for argv in steps]
    assert codes == [0, 0, 0, 4, 0, 0, 0, 0, 0, 0]
    logs = sorted((data_home / "logs").glob("*"))
    assert logs
    text = "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in logs)
    assert "DEBUG" in text or "INFO" in text
    assert _personal_numbers(text) == [], _personal_numbers(text)[:5]
    for sub in subs:
        assert sub.msisdn not in text
        if sub.id_number:
            assert sub.id_number not in text
    assert number not in text and id_number not in text
    assert "0902 *** 001" in text  # the refusal was logged, masked


def test_masking_formatter_masks_every_form() -> None:
    line = ("0902 000 001 đã nhận; +84 912 345 678; 84912345678; 031080001234; 123456789; "
            "run #12, sha 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")
    masked = mask_numbers(line)
    assert _personal_numbers(masked) == []
    assert "0902 *** 001" in masked and "0310******34" in masked
    assert "run #12, sha 9f86d081884c7d659a2feaa0c55ad015" in masked
    assert mask_numbers("2026-11-25 15:42:37,048 INFO") == "2026-11-25 15:42:37,048 INFO"
