"""Render the printed documents to PNG for review: `python scripts/render_forms.py`.

Builds a throw-away database (the default programme, a few synthetic customers of Hải Phòng
classified into batch 1, one gift handed over), prints each kind of document through the
real service (`mbfcare.services.printing`) and turns the first page of each PDF into
`docs/forms/*.png` with poppler's `pdftoppm -png -r 60` (apt-get install -y poppler-utils).
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mbfcare.db import open_database  # noqa: E402 - after the path
from mbfcare.domain.actors import Actor  # noqa: E402
from mbfcare.models import Charge, ImportRun, Subscriber  # noqa: E402
from mbfcare.services import care_work, printing, stock  # noqa: E402
from mbfcare.services.classification import classify_batch  # noqa: E402
from mbfcare.services.programmes import create_programme, default_programme_spec  # noqa: E402

STORE = "Cửa hàng MobiFone Lê Chân"
PEOPLE = [  # number, name, district, address, charges (12/2016, 11/2016, 10/2016), CCCD
    ("0901234567", "Nguyễn Văn Hùng", "Lê Chân", "Số 15 Tô Hiệu, phường Trại Cau, quận Lê Chân",
     (850000, 910000, 780000), "031082004567"),
    ("0936888123", "Trần Thị Ánh Tuyết", "Hồng Bàng",
     "Số 7 Điện Biên Phủ, phường Minh Khai, quận Hồng Bàng", (990000, 1020000, 1100000), None),
    ("0905111222", "Phạm Thị Hồng Nhung", "Lê Chân",
     "Số 42 Lạch Tray, phường Lạch Tray, quận Lê Chân", (600000, 640000, 580000), None),
    ("0903456789", "Đặng Quốc Việt", "Lê Chân", "Ngõ 88 Nguyễn Văn Linh, quận Lê Chân",
     (620000, 655000, 600000), "031085009876"),
    ("0909777666", "Lương Thị Thùy Dương", "Lê Chân", "Số 3 Cầu Đất, quận Lê Chân",
     (590000, 610000, 570000), "031090001122"),
]
PAGES = {  # output name: (print kind, pages to render, filters)
    "receipt": ("receipts", 1, {"group": 2}),
    "receipt-given": ("receipts", 1, {"group": 1, "district": "Lê Chân"}),
    "signature-list": ("signature-list", 1, {"group": 2}),
    "survey": ("surveys", 1, {"group": 1}),
    "info-form": ("info-forms", 1, {}),
    "invitation": ("invitations", 1, {}),
}


def _seed(url: str) -> None:
    _, factory = open_database(url)
    programme_id = create_programme(factory, default_programme_spec(), actor=Actor("test"))
    with factory.begin() as session:
        run = ImportRun(programme_id=programme_id, kind="subscribers", file_name="thang3.xlsx",
                        file_sha256="0" * 64, user="Lan")
        session.add(run)
        session.flush()
        for number, name, district, address, charges, cccd in PEOPLE:
            sub = Subscriber(msisdn=number, ported=False, subscriber_type="postpaid",
                             status="active", name=name, province="Hải Phòng",
                             district=district, store=STORE if district == "Lê Chân" else None,
                             address=address, activation_date=dt.date(2009, 4, 1),
                             profile_standardised=cccd is not None, id_number=cccd,
                             first_import_id=run.id, last_import_id=run.id)
            session.add(sub)
            session.flush()
            for cycle, amount in zip((201612, 201611, 201610), charges, strict=True):
                session.add(Charge(subscriber_id=sub.id, cycle=cycle, amount=amount))
    classify_batch(factory, programme_id=programme_id, batch=1, actor=Actor("Lan"))
    admin = Actor("Nguyễn Thị Lan", "admin")
    stock.move_stock(factory, "receive", "balo-keo", 5, actor=admin)
    care_work.record_handover(factory, "0901234567", actor=admin, item_code="balo-keo",
                              by="Trần Minh Đức", on=dt.date(2017, 3, 15))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "forms")
    parser.add_argument("--dpi", type=int, default=60)
    args = parser.parse_args()
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        print("pdftoppm is missing: apt-get install -y poppler-utils", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        url = f"sqlite:///{(work / 'forms.sqlite').as_posix()}"
        _seed(url)
        _, factory = open_database(url)
        actor = Actor("Phạm Thu Hà", "clerk")
        for name, (kind, pages, filters) in PAGES.items():
            pdf = work / f"{name}.pdf"
            result = printing.print_documents(factory, kind, pdf, batch=1, actor=actor,
                                              today=dt.date(2017, 3, 10),
                                              **filters)  # type: ignore[arg-type]
            subprocess.run([pdftoppm, "-png", "-r", str(args.dpi), "-f", "1", "-l",
                            str(pages), "-singlefile", str(pdf), str(args.out / name)],
                           check=True)
            print(f"{args.out / name}.png  ({result.documents} documents, {result.pages} "
                  "pages)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
