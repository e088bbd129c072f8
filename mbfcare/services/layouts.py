"""Remembered column mappings: a file whose headers match one imported before gets its mapping.

A layout is known by its signature, the SHA-256 of its folded header texts (no accents, one
case, one space), so that `Số TB` and `SO TB ` are the same layout. The mappings live in
`import_layouts.json` in the data folder; the file is small and safe to lose. No Qt here.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import os
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mbfcare import paths
from mbfcare.domain.headers import header_key

logger = logging.getLogger(__name__)

LAYOUTS_FILE = "import_layouts.json"
LAYOUTS_VERSION = 1
MAX_LAYOUTS = 200  # the oldest are forgotten beyond this

_lock = threading.Lock()  # the wizard saves on the worker while a preview may read


def layouts_path() -> Path:
    """Where the remembered mappings are stored."""
    return paths.data_dir() / LAYOUTS_FILE


def layout_signature(headers: Sequence[object]) -> str:
    """SHA-256 of the folded header texts (trailing blank columns do not count)."""
    keys = [header_key(h) for h in headers]
    while keys and not keys[-1]:
        keys.pop()
    return hashlib.sha256("\x1f".join(keys).encode("utf-8")).hexdigest()


def _read(path: Path) -> dict[str, Any]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        logger.warning("ignoring unreadable %s: %s", path, exc)
        return {}
    layouts = raw.get("layouts") if isinstance(raw, dict) else None
    return layouts if isinstance(layouts, dict) else {}


def _clean(mapping: object) -> dict[str, int] | None:
    if not isinstance(mapping, dict):
        return None
    result = {
        str(k): v for k, v in mapping.items()
        if isinstance(v, int) and not isinstance(v, bool) and v >= 0
    }
    return result or None


def load_layouts() -> dict[str, dict[str, int]]:
    """Every remembered mapping by layout signature (one read, for lookups in memory)."""
    with _lock:
        layouts = _read(layouts_path())
    result = {}
    for signature, entry in layouts.items():
        mapping = _clean(entry.get("mapping") if isinstance(entry, dict) else None)
        if mapping:
            result[signature] = mapping
    return result


def remembered_mapping(headers: Sequence[object]) -> dict[str, int] | None:
    """The mapping confirmed last time for a file with these headers, or None."""
    return load_layouts().get(layout_signature(headers))


def remember_mapping(headers: Sequence[object], mapping: Mapping[str, int]) -> None:
    """Store the confirmed mapping for files with these headers (replacing an older one).

    Raises:
        OSError: the data folder cannot be written.
    """
    path = layouts_path()
    entry = {
        "mapping": dict(mapping),
        "headers": [" ".join(str(h).split()) for h in headers],
        "saved_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    with _lock:
        layouts = _read(path)
        layouts.pop(layout_signature(headers), None)
        layouts[layout_signature(headers)] = entry  # newest last
        while len(layouts) > MAX_LAYOUTS:
            layouts.pop(next(iter(layouts)))
        data = json.dumps({"version": LAYOUTS_VERSION, "layouts": layouts},
                          ensure_ascii=False, indent=1)
        # write then rename, so a crash never leaves half a file
        temp = path.with_suffix(".tmp")
        try:
            temp.write_text(data, encoding="utf-8")
            os.replace(temp, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()
