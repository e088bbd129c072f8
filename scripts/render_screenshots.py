"""Render the README screenshots offscreen: `python scripts/render_screenshots.py`.

Builds throw-away databases (one with the default programme, 3.000 synthetic subscribers and
batch 1 classified; one empty), opens each screen at 1280×800 and saves
`docs/screenshots/*.png` (the overview also in English, `-en`).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before any Qt import

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PySide6.QtWidgets import QApplication, QWidget  # noqa: E402 - after the platform

from mbfcare import APP_NAME, ORG_NAME  # noqa: E402
from mbfcare.db import describe, open_database  # noqa: E402
from mbfcare.domain.actors import Actor  # noqa: E402
from mbfcare.io.synthetic import generate_subscribers, write_xlsx  # noqa: E402
from mbfcare.services.classification import classify_batch  # noqa: E402
from mbfcare.services.importing import import_subscribers  # noqa: E402
from mbfcare.services.programmes import create_programme, default_programme_spec  # noqa: E402
from mbfcare.services.synthetic_work import record_synthetic_work  # noqa: E402
from mbfcare.ui.classify_dialog import ClassifyDialog  # noqa: E402
from mbfcare.ui.i18n import install_translators  # noqa: E402
from mbfcare.ui.main_window import MainWindow  # noqa: E402
from mbfcare.ui.tasks import wait_all_runners  # noqa: E402

SIZE = (1280, 800)


def _wait(app: QApplication, condition: Callable[[], bool], seconds: float = 30) -> None:
    """Process events until `condition()` holds (work runs on the window's worker)."""
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.02)
    for _ in range(20):  # let the last paints and layouts happen
        app.processEvents()
        time.sleep(0.01)


def _save(widget: QWidget, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if not widget.grab().save(str(target)):
        raise SystemExit(f"could not write {target}")
    print(f"wrote {target}")


def _window(app: QApplication, factory: Any, db_url: str) -> MainWindow:
    window = MainWindow(factory, describe(db_url), user="Nguyễn Thị Lan")
    window.resize(*SIZE)
    loaded: list[object] = []
    window.programmes_loaded.connect(loaded.append)
    window.show()
    _wait(app, lambda: bool(loaded))
    if not loaded:
        raise SystemExit(f"the window did not load {db_url}")
    return window


def _sections(app: QApplication, factory: Any, db_url: str, extract: Path, out: Path,
              suffix: str = "") -> None:
    window = _window(app, factory, db_url)
    window.show_section("dashboard")
    _wait(app, lambda: window.dashboard.dto() is not None)
    _save(window, out / f"tong-quan{suffix}.png")
    if suffix:
        window.close()
        return
    window.show_section("care_list")
    care = window.care_list
    _wait(app, lambda: care.model.rowCount() > 0)
    care.table.selectRow(0)
    _wait(app, lambda: bool(care.detail_text()))
    _save(window, out / "danh-sach-cham-soc.png")
    window.show_section("desk")
    desk = window.desk
    shown: list[int] = []
    desk.case_shown.connect(shown.append)
    desk.input.setText(_desk_customer(factory))
    desk.input.returnPressed.emit()
    _wait(app, lambda: bool(shown))
    _save(window, out / "quay-trao-qua.png")
    stock_loaded: list[bool] = []
    window.stock_page.loaded.connect(lambda: stock_loaded.append(True))
    window.show_section("stock")
    window.stock_page.refresh()
    _wait(app, lambda: bool(stock_loaded))
    _save(window, out / "kho-qua.png")
    window.show_section("print")
    documents = window.print_page.documents
    _wait(app, lambda: documents.store_combo.count() > 1)
    documents.kind_combo.setCurrentIndex(documents.kind_combo.findData("receipts"))
    documents.group_combo.setCurrentIndex(documents.group_combo.findData(2))
    documents.store_combo.setCurrentIndex(1)
    made: list[object] = []
    documents.printed.connect(made.append)
    documents.make()
    _wait(app, lambda: bool(made), seconds=60)
    _save(window, out / "in-an.png")
    sms_loaded: list[bool] = []
    window.print_page.sms.loaded.connect(lambda: sms_loaded.append(True))
    window.print_page.tabs.setCurrentWidget(window.print_page.sms)
    _wait(app, lambda: bool(sms_loaded))
    _save(window, out / "sms.png")
    window.show_section("reports")
    progress_panel = window.reports_page.panels["progress"]
    reported: list[object] = []
    progress_panel.shown.connect(reported.append)  # type: ignore[attr-defined]
    progress_panel.show_report()  # type: ignore[attr-defined]
    _wait(app, lambda: bool(reported), seconds=60)
    _save(window, out / "bao-cao.png")
    window.show_section("import")
    window.import_page.open_file(extract)
    _wait(app, lambda: window.import_page.current_step() >= 1)
    _save(window, out / "nhap-du-lieu.png")
    window.show_section("settings")
    _wait(app, lambda: window.settings_page.programme_id() is not None)
    _save(window, out / "cai-dat.png")
    window.show_section("dashboard")
    window.open_classify(2)
    dialog = window._dialog
    assert isinstance(dialog, ClassifyDialog)
    dialog.preview_button.click()
    _wait(app, lambda: dialog.preview is not None)
    _save(dialog, out / "xep-danh-sach.png")
    dialog.close()
    window.close()


def _desk_customer(factory: Any) -> str:
    """A group-2 customer still to serve, in the `84…` form a clerk might type."""
    from sqlalchemy import select

    from mbfcare.models import CareCase, Subscriber

    with factory() as session:
        number = session.scalar(
            select(Subscriber.msisdn).join(CareCase, CareCase.subscriber_id == Subscriber.id)
            .where(CareCase.group_number == 2, CareCase.state == "listed",
                   CareCase.handover_on.is_(None), CareCase.outcome.is_(None),
                   CareCase.gift_owed.is_(False), Subscriber.profile_standardised.is_(False))
            .order_by(CareCase.id).limit(1))
    return "84" + str(number)[1:]


def main() -> int:
    """Render every screen into `--out` (default docs/screenshots)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()

    QApplication.setOrganizationName(ORG_NAME)
    QApplication.setApplicationName(APP_NAME)
    app = QApplication(sys.argv[:1])
    with tempfile.TemporaryDirectory(prefix="mbfcare-shots-") as tmp_name:
        tmp = Path(tmp_name)
        os.environ["MBFCARE_HOME"] = str(tmp / "home")  # rejects and backups stay in tmp
        os.environ.pop("MBFCARE_DB", None)
        translators = install_translators(app, "vi")

        full_url = f"sqlite:///{(tmp / 'main.sqlite').as_posix()}"
        engine, factory = open_database(full_url)
        create_programme(factory, default_programme_spec(), actor=Actor("test"))
        subs = generate_subscribers(3000, seed=7)
        extract = write_xlsx(tmp / "trich_xuat_thang_05.xlsx", subs, seed=7)
        care = extract.care_month
        care_month = care if isinstance(care, str) else f"{care[1]:02d}/{care[0]}"
        result = import_subscribers(factory, extract.path, batch=1, care_month=care_month,
                                    actor=Actor("test"))
        print(f"imported {result.imported} subscribers, rejected {result.rejected}")
        classify_batch(factory, batch=1, care_month=care_month, plan={1: 300}, actor=Actor("test"))
        classify_batch(factory, batch=2, care_month=care_month, dry_run=True, actor=Actor("test"))
        work = record_synthetic_work(factory, programme_id=1, batch=1, seed=5)
        print(f"recorded {work}")
        _sections(app, factory, full_url, extract.path, args.out)
        for translator in translators:
            app.removeTranslator(translator)
        translators = install_translators(app, "en")
        _sections(app, factory, full_url, extract.path, args.out, suffix="-en")
        for translator in translators:
            app.removeTranslator(translator)
        install_translators(app, "vi")
        engine.dispose()

        empty_url = f"sqlite:///{(tmp / 'empty.sqlite').as_posix()}"
        engine, factory = open_database(empty_url)
        window = _window(app, factory, empty_url)
        _save(window, args.out / "welcome.png")
        window.close()
        wait_all_runners()
        engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
