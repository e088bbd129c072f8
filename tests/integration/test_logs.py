"""The log file records what happened, never a subscriber's number or ID number."""

from __future__ import annotations

import io
import re
from pathlib import Path

from mbfcare.cli import main
from mbfcare.io.synthetic import generate_subscribers, write_csv


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
