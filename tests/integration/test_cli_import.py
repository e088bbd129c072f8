"""The `mbfcare` command for `programme create` and `import`, through `main` and as a module."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from mbfcare import __version__
from mbfcare.cli import main
from mbfcare.io.synthetic import MessyOptions, WrittenExtract, generate_subscribers, write_xlsx

REPO = Path(__file__).resolve().parents[2]


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


def run_json(*argv: str) -> dict[str, Any]:
    code, text = run(*argv)
    assert code == 0, text
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text  # one JSON object, nothing else
    return json.loads(lines[0])


def care_of(written: WrittenExtract) -> str:
    return f"{written.care_month[1]:02d}/{written.care_month[0]}"


@pytest.fixture
def extract(tmp_path: Path) -> WrittenExtract:
    subs = generate_subscribers(150, seed=101)
    return write_xlsx(tmp_path / "ds.xlsx", subs,
                      MessyOptions(signature_rows=False, duplicates=2, bad_rows=2), seed=101)


def test_programme_create_json(db_url: str) -> None:
    assert run_json("--db", db_url, "programme", "create", "--json") == {"programme_id": 1}
    listed = run_json("--db", db_url, "programme", "list", "--json")
    assert [p["id"] for p in listed["programmes"]] == [1]
    assert [b["care_month"] for b in listed["programmes"][0]["batches"]] == [
        "03/2017", "06/2017", "09/2017", "12/2017"]


def test_db_option_after_the_subcommand(db_url: str) -> None:
    assert run_json("programme", "create", "--db", db_url, "--json") == {"programme_id": 1}


def test_import_subscribers_json_then_unchanged(db_url: str, extract: WrittenExtract) -> None:
    run_json("--db", db_url, "programme", "create", "--json")
    first = run_json("--db", db_url, "import", "subscribers", str(extract.path),
                     "--care-month", care_of(extract), "--json")
    for key in ("rows_read", "imported", "updated", "unchanged", "rejected", "duplicates",
                "rejects_file"):
        assert key in first, key
    assert first["rows_read"] == extract.data_rows
    assert first["imported"] == len(extract.expected)
    assert first["rejected"] == len(extract.expected_rejects)
    assert first["duplicates"] == 2
    assert (first["updated"], first["unchanged"]) == (0, 0)
    assert first["rejects_file"] and Path(first["rejects_file"]).exists()
    assert Path(first["rejects_file"]).parent.name == "rejects"
    second = run_json("--db", db_url, "import", "subscribers", str(extract.path),
                      "--care-month", care_of(extract), "--json")
    assert (second["imported"], second["updated"], second["unchanged"]) == (
        0, 0, len(extract.expected))
    assert second["rejected"] == first["rejected"]


def test_import_human_text(db_url: str, extract: WrittenExtract) -> None:
    run_json("--db", db_url, "programme", "create", "--json")
    code, text = run("--db", db_url, "import", "subscribers", str(extract.path),
                     "--care-month", care_of(extract))
    assert code == 0
    assert extract.path.name in text
    assert "từ chối" in text


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    out = io.StringIO()
    try:
        code = main(["--version"], out=out)
    except SystemExit as exc:  # argparse's version action exits by itself
        code = exc.code  # type: ignore[assignment]
    assert code == 0
    printed = out.getvalue() + capsys.readouterr().out
    assert __version__ in printed


def test_help(capsys: pytest.CaptureFixture[str]) -> None:
    out = io.StringIO()
    try:
        code = main(["import", "subscribers", "--help"], out=out)
    except SystemExit as exc:
        code = exc.code  # type: ignore[assignment]
    assert code == 0
    assert "--care-month" in out.getvalue() + capsys.readouterr().out


def test_unknown_option_is_usage_error(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = run("--db", db_url, "programme", "create", "--frobnicate")
    assert code == 2
    err = capsys.readouterr().err
    assert "--frobnicate" in err
    assert "Traceback" not in err


def test_unknown_command_is_usage_error(db_url: str) -> None:
    assert run("--db", db_url, "explode")[0] == 2


def test_missing_file_is_refused(db_url: str, tmp_path: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    run_json("--db", db_url, "programme", "create", "--json")
    code, out = run("--db", db_url, "import", "subscribers", str(tmp_path / "khong-co.xlsx"),
                    "--care-month", "05/2017", "--json")
    assert code == 3
    assert out == ""
    err = capsys.readouterr().err
    assert "khong-co.xlsx" in err
    assert "Traceback" not in err


def test_relative_cycles_without_care_month(db_url: str, extract: WrittenExtract,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    run_json("--db", db_url, "programme", "create", "--json")
    code, _ = run("--db", db_url, "import", "subscribers", str(extract.path), "--json")
    assert code == 2
    err = capsys.readouterr().err
    assert "--care-month" in err or "--batch" in err


def test_bad_care_month_is_usage_error(db_url: str, extract: WrittenExtract) -> None:
    run_json("--db", db_url, "programme", "create", "--json")
    assert run("--db", db_url, "import", "subscribers", str(extract.path),
               "--care-month", "2017/13", "--json")[0] == 2


def test_unknown_batch_is_not_found(db_url: str, extract: WrittenExtract) -> None:
    run_json("--db", db_url, "programme", "create", "--json")
    assert run("--db", db_url, "import", "subscribers", str(extract.path), "--batch", "9",
               "--json")[0] == 4


def test_no_programme_yet_is_refused(db_url: str, extract: WrittenExtract) -> None:
    code, _ = run("--db", db_url, "import", "subscribers", str(extract.path),
                  "--care-month", care_of(extract), "--json")
    assert code == 4


def test_strict_exit_code(db_url: str, extract: WrittenExtract) -> None:
    run_json("--db", db_url, "programme", "create", "--json")
    assert run("--db", db_url, "import", "subscribers", str(extract.path),
               "--care-month", care_of(extract), "--strict", "--json")[0] == 3
    again = run_json("--db", db_url, "import", "subscribers", str(extract.path),
                     "--care-month", care_of(extract), "--dry-run", "--json")
    assert again["imported"] == len(extract.expected)  # nothing was stored by --strict


def test_python_m_mbfcare(db_url: str, data_home: Path) -> None:
    env = dict(os.environ, MBFCARE_HOME=str(data_home), PYTHONPATH=str(REPO))
    proc = subprocess.run(
        [sys.executable, "-m", "mbfcare", "--db", db_url, "programme", "create", "--json"],
        capture_output=True, text=True, env=env, cwd=str(REPO), timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"programme_id": 1}
