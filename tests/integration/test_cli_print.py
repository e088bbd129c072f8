"""`mbfcare print …` end to end: the five documents as PDF, their JSON, exit codes, and the
printed QR read back from the rendered page as a scanner would."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from mbfcare.cli import main
from mbfcare.domain.actors import Actor
from mbfcare.services import care_work
from tests.care_data import GROUP1, GROUP2, seed_listed
from tests.unit.reports.pdf.pdf_helpers import assert_embedded_liberation, page_texts

SERVED = len(GROUP1) + len(GROUP2)


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


def run_json(*argv: str) -> dict[str, Any]:
    code, text = run(*argv, "--json")
    assert code == 0, text
    return json.loads(text)


@pytest.fixture
def db(factory: sessionmaker[Session], programme_id: int, db_url: str) -> str:
    seed_listed(factory, programme_id)
    return db_url


@pytest.mark.parametrize(("kind", "documents", "pages"), [
    ("receipts", SERVED, SERVED),
    ("signature-list", 3, 3),
    ("surveys", SERVED, SERVED),
    ("info-forms", 5, 5),
    ("invitations", len(GROUP2), len(GROUP2)),
])
def test_print_each_document(db: str, tmp_path: Path, kind: str, documents: int,
                             pages: int) -> None:
    out = tmp_path / f"{kind}.pdf"
    data = run_json("--db", db, "--user", "Lan", "print", kind, "--batch", "1", "--out",
                    str(out))
    assert (data["documents"], data["pages"], data["file"]) == (documents, pages, str(out))
    assert data["kind"] == kind
    assert len(page_texts(out)) == pages
    assert_embedded_liberation(out)


def test_human_text_and_refusals(db: str, tmp_path: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "moi.pdf"
    code, text = run("--db", db, "print", "invitations", "--batch", "1", "--store",
                     "cua hang mobifone le chan", "--out", str(out))
    assert code == 0 and text.startswith("Đã in 12 giấy mời nhận quà, 12 trang: ")
    code, _ = run("--db", db, "print", "invitations", "--batch", "1", "--group", "1",
                  "--out", str(tmp_path / "none.pdf"))
    assert code == 4 and "Không có khách hàng nào cần in giấy mời" in capsys.readouterr().err
    assert not (tmp_path / "none.pdf").exists()
    code, _ = run("--db", db, "print", "receipts", "--out", str(tmp_path / "x.pdf"))
    assert code == 2  # --batch is required
    code, _ = run("--db", db, "print", "receipts", "--batch", "9", "--out",
                  str(tmp_path / "x.pdf"))
    assert code == 4 and "không có đợt 9" in capsys.readouterr().err
    blank = run_json("--db", db, "print", "surveys", "--batch", "1", "--group", "1",
                     "--blank", "2", "--out", str(tmp_path / "ks.pdf"))
    assert (blank["documents"], blank["blank"]) == (len(GROUP1) + 2, 2)


def _pdftoppm() -> str:
    found = shutil.which("pdftoppm")
    if found is None:
        pytest.fail("pdftoppm is missing: install poppler-utils (apt-get install -y "
                    "poppler-utils)")
    return found


def test_rendered_pages_show_the_code_the_desk_accepts(db: str, factory: sessionmaker[Session],
                                                       tmp_path: Path) -> None:
    out = tmp_path / "bien-ban.pdf"
    run_json("--db", db, "print", "receipts", "--batch", "1", "--group", "1", "--out",
             str(out))
    subprocess.run([_pdftoppm(), "-png", "-r", "150", "-f", "1", "-l", "1", str(out),
                    str(tmp_path / "page")], check=True)
    (png,) = tmp_path.glob("page*.png")
    assert png.stat().st_size > 10_000
    import zxingcpp  # a test dependency: the printed QR must read back
    from PIL import Image

    (decoded,) = [r.text for r in zxingcpp.read_barcodes(Image.open(png))]
    dto = care_work.desk_lookup(factory, decoded, actor=Actor("test"))
    assert dto.name in page_texts(out)[0]
    # printing again: the paper in hand is now an old copy
    run_json("--db", db, "print", "receipts", "--batch", "1", "--group", "1", "--out",
             str(tmp_path / "again.pdf"))
    with pytest.raises(care_work.RuleError, match="in lại"):
        care_work.desk_lookup(factory, decoded, actor=Actor("test"))
