"""Collect Python garbage on the GUI thread only (Anki's GarbageCollector).

A reference cycle holding a Qt object, collected by a worker thread that happened to trigger
the collector, destroys that object off its thread, which crashes Qt. So automatic collection
is turned off and a timer collects on the GUI thread instead.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer


class GarbageCollector(QObject):
    """Runs `gc.collect()` on the GUI thread when enough allocations piled up."""

    def __init__(self, parent: QObject | None = None, interval_ms: int = 1000) -> None:
        super().__init__(parent)
        self._threshold = gc.get_threshold()[0] or 700
        gc.disable()
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.check)
        self._timer.start(interval_ms)

    def check(self) -> None:
        """Collect if the youngest generation is over its usual threshold."""
        if gc.get_count()[0] > self._threshold:
            gc.collect()
