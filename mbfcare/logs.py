"""Logging to a rotating file in the data folder; no Qt, no personal data (numbers masked)."""

from __future__ import annotations

import logging
import logging.handlers
import re
from pathlib import Path

from mbfcare import paths
from mbfcare.domain.masking import mask_id_number, mask_phone

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# A subscriber number in any usual form (0912345678, 0912 345 678, 84912345678, +84 912…)
# or an ID number (12-digit CCCD, 9-digit CMND) standing alone in a log line. Stricter than
# `masking.mask_numbers_in_text` (which also takes dashes): the line's own timestamp
# `2026-11-25 15:42` must stay readable.
_PHONE = re.compile(r"(?<![0-9A-Za-z])(?:\+?84|0)(?:[ .]?\d){9}(?![0-9A-Za-z])")
_ID = re.compile(r"(?<![0-9A-Za-z])(?:\d{12}|\d{9})(?![0-9A-Za-z])")


def mask_numbers(text: str) -> str:
    """`text` with every phone number masked like `0912 *** 678`, every ID like
    `0790******12` (the masks of `mbfcare.domain.masking`)."""
    text = _PHONE.sub(lambda m: mask_phone(m.group()), text)
    return _ID.sub(lambda m: mask_id_number(m.group()), text)


class MaskingFormatter(logging.Formatter):
    """A formatter that masks phone and ID numbers in the whole record, traceback included.

    Services mask what they log on purpose; this catches the rest, e.g. a refusal sentence
    naming the subscriber, logged with its traceback under `--debug`.
    """

    def format(self, record: logging.LogRecord) -> str:
        """The formatted record, numbers masked."""
        return mask_numbers(super().format(record))


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
        file_handler.setFormatter(MaskingFormatter(LOG_FORMAT))
        file_handler._mbfcare = True  # type: ignore[attr-defined]  # marks our own handlers
        root.addHandler(file_handler)
    except OSError:
        target = None
    if console:
        stream = logging.StreamHandler()
        stream.setFormatter(MaskingFormatter("%(levelname)s %(name)s: %(message)s"))
        stream._mbfcare = True  # type: ignore[attr-defined]
        root.addHandler(stream)
    root.propagate = False
    return target
