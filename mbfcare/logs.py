"""Logging to a rotating file in the data folder; no Qt, no personal data (numbers masked)."""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

from mbfcare import paths

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def setup(*, debug: bool = False, console: bool = False) -> Path | None:
    """Send MBF Care's log to `logs/mbfcare.log` (5 files of 2 MB) and optionally the console.

    Returns:
        The log file, or None if the folder cannot be written (logging is never fatal).
    """
    root = logging.getLogger("mbfcare")
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    for handler in list(root.handlers):
        if getattr(handler, "_mbfcare", False):
            root.removeHandler(handler)
            handler.close()
    target: Path | None = None
    try:
        target = paths.log_dir() / "mbfcare.log"
        file_handler = logging.handlers.RotatingFileHandler(
            target, maxBytes=2 * 1024 * 1024, backupCount=5, encoding="utf-8", delay=True
        )
        file_handler.setFormatter(logging.Formatter(LOG_FORMAT))
        file_handler._mbfcare = True  # type: ignore[attr-defined]  # marks our own handlers
        root.addHandler(file_handler)
    except OSError:
        target = None
    if console:
        stream = logging.StreamHandler()
        stream.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        stream._mbfcare = True  # type: ignore[attr-defined]
        root.addHandler(stream)
    root.propagate = False
    return target
