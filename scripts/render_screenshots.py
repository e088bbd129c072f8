"""Render the README screenshots offscreen: `python scripts/render_screenshots.py`.

Builds throw-away databases (one with the default programme and 2.000 synthetic subscribers,
one empty), opens the main window at 1280×800 and saves `docs/screenshots/*.png`.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before any Qt import

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PySide6.QtCore import QTimer  # noqa: E402 - after the platform is chosen
from PySide6.QtWidgets import QApplication  # noqa: E402

from mbfcare import APP_NAME, ORG_NAME  # noqa: E402
from mbfcare.db import describe, open_database  # noqa: E402
from mbfcare.io.synthetic import generate_subscribers, write_xlsx  # noqa: E402
from mbfcare.services.importing import import_subscribers  # noqa: E402
from mbfcare.services.programmes import create_programme, default_programme_spec  # noqa: E402
from mbfcare.ui.i18n import install_translators  # noqa: E402
from mbfcare.ui.main_window import MainWindow  # noqa: E402

SIZE = (1280, 800)


def _grab(app: QApplication, db_url: str, target: Path) -> None:
    engine, factory = open_database(db_url)
    try:
        window = MainWindow(factory, describe(db_url))
        window.resize(*SIZE)
        loaded: list[object] = []
        window.programmes_loaded.connect(loaded.append)
        window.show()
        QTimer.singleShot(30000, app.quit)  # never hang if loading fails
        window.programmes_loaded.connect(lambda _items: QTimer.singleShot(200, app.quit))
        app.exec()
        if not loaded:
            raise SystemExit(f"the window did not load {db_url}")
        target.parent.mkdir(parents=True, exist_ok=True)
        if not window.grab().save(str(target)):
            raise SystemExit(f"could not write {target}")
        print(f"wrote {target}")
        window.close()
    finally:
        engine.dispose()


def main() -> int:
    """Render every screenshot into `--out` (default docs/screenshots)."""
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
        install_translators(app, "vi")

        full_url = f"sqlite:///{(tmp / 'main.sqlite').as_posix()}"
        engine, factory = open_database(full_url)
        create_programme(factory, default_programme_spec())
        subs = generate_subscribers(2000, seed=7)
        extract = write_xlsx(tmp / "extract.xlsx", subs, seed=7)
        care = extract.care_month  # "MM/YYYY" (older synthetic versions: a (year, month) pair)
        care_month = care if isinstance(care, str) else f"{care[1]:02d}/{care[0]}"
        result = import_subscribers(factory, extract.path, care_month=care_month)
        print(f"imported {result.imported} subscribers, rejected {result.rejected}")
        engine.dispose()
        _grab(app, full_url, args.out / "main-window.png")

        empty_url = f"sqlite:///{(tmp / 'empty.sqlite').as_posix()}"
        _grab(app, empty_url, args.out / "welcome.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
