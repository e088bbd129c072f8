"""Run database work off the GUI thread: one worker, results delivered as queued signals."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

logger = logging.getLogger(__name__)


class TaskProgress:
    """The progress and cancel token handed to the work function (services' `Progress`).

    `report` runs on the worker and only emits a signal; `cancel` is called from the GUI.
    """

    def __init__(self, signals: TaskSignals) -> None:
        self._signals = signals
        self._cancel = threading.Event()

    def report(self, done: int, total: int, text: str = "") -> None:
        """Forward progress to the GUI thread (queued signal; no UI calls here)."""
        self._signals.progress_changed.emit(done, total, text)

    def cancelled(self) -> bool:
        """Whether the user asked to stop; services check it between chunks."""
        return self._cancel.is_set()

    def cancel(self) -> None:
        """Ask the work to stop at its next check."""
        self._cancel.set()


class TaskSignals(QObject):
    """Signals of one task; created on the GUI thread so emits from the pool arrive queued.

    Signals:
        progress_changed(int, int, str): done, total, text.
        finished(object): the work function's result.
        failed(object): the exception it raised.
    """

    progress_changed = Signal(int, int, str)
    finished = Signal(object)
    failed = Signal(object)


class Task(QRunnable):
    """Run `fn(progress)` on the pool. Never touch widgets from `run()`."""

    def __init__(self, fn: Callable[[TaskProgress], Any]) -> None:
        super().__init__()
        # The runner keeps the Python object alive; Qt must not delete it behind our back.
        self.setAutoDelete(False)
        self._fn = fn
        self.signals = TaskSignals()
        self.progress = TaskProgress(self.signals)

    def run(self) -> None:
        """Worker thread: call the function and hand its outcome to the GUI thread."""
        try:
            result = self._fn(self.progress)
        except Exception as exc:  # handed to the GUI thread via `failed`
            logger.debug("task failed", exc_info=True)
            self.signals.failed.emit(exc)
        else:
            self.signals.finished.emit(result)
        finally:
            _ACTIVE.discard(self)


_RUNNERS: weakref.WeakSet[TaskRunner] = weakref.WeakSet()
# Tasks queued or running: their Python objects (function, signals) must outlive the window
# that started them, or a worker would run freed code when a window closes mid-task.
_ACTIVE: set[Task] = set()


def wait_all_runners(msecs: int = 10000) -> None:
    """Block until every task is done (before a database is closed, at exit, in tests)."""
    for runner in list(_RUNNERS):
        with contextlib.suppress(RuntimeError):  # its Qt object is already gone
            runner.wait(msecs)
    deadline = time.monotonic() + msecs / 1000
    while _ACTIVE and time.monotonic() < deadline:
        time.sleep(0.01)


class TaskRunner(QObject):
    """Owns a one-thread pool for database work and the tasks still running.

    Signals:
        busy_changed(bool): whether a task is queued or running.
    """

    busy_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None, pool: QThreadPool | None = None) -> None:
        super().__init__(parent)
        self._pool = pool or QThreadPool(self)
        # One writer at a time: SQLite serialises writes anyway, and order stays predictable.
        self._pool.setMaxThreadCount(1)
        self._running: dict[QObject, _Callbacks] = {}
        _RUNNERS.add(self)

    def start(
        self,
        fn: Callable[[TaskProgress], Any],
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> Task:
        """Queue `fn(progress)`; `on_done(result)` or `on_error(exc)` run on the GUI thread."""
        return self.submit(Task(fn), on_done, on_error)

    def submit(
        self,
        task: Task,
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> Task:
        """Queue a task built by the caller (who may connect to its signals first)."""
        # Bound methods of this QObject: Qt disconnects them if the runner is deleted first,
        # so a result arriving after its window closed is dropped, not delivered to a corpse.
        task.signals.finished.connect(self._on_task_finished)
        task.signals.failed.connect(self._on_task_failed)
        self._running[task.signals] = _Callbacks(task, on_done, on_error)
        _ACTIVE.add(task)
        if len(self._running) == 1:
            self.busy_changed.emit(True)
        self._pool.start(task)
        return task

    def is_busy(self) -> bool:
        """Whether a task is queued or running."""
        return bool(self._running)

    def wait(self, msecs: int = -1) -> bool:
        """Block until the pool is idle (at shutdown); True if it became idle."""
        return self._pool.waitForDone(msecs)

    @Slot(object)
    def _on_task_finished(self, result: Any) -> None:
        callbacks = self._forget()
        if callbacks is not None and callbacks.on_done is not None:
            callbacks.on_done(result)

    @Slot(object)
    def _on_task_failed(self, exc: Any) -> None:
        callbacks = self._forget()
        if callbacks is not None and callbacks.on_error is not None:
            callbacks.on_error(exc)

    def _forget(self) -> _Callbacks | None:
        # Bookkeeping before the callbacks: a callback may start the next task.
        callbacks = self._running.pop(self.sender(), None)
        if callbacks is not None and not self._running:
            self.busy_changed.emit(False)
        return callbacks


@dataclass
class _Callbacks:
    task: Task  # keeps the runnable alive until its outcome is delivered
    on_done: Callable[[Any], None] | None
    on_error: Callable[[BaseException], None] | None
