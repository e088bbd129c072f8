"""Backup files of an SQLite database: their names, the policy, and which ones to keep; no Qt.

A backup of `<folder>/mbfcare.sqlite` is `<backup folder>/mbfcare[-<kind>]-<YYYY-MM-DD_HHMMSS>
[-<n>].sqlite`: the database's own name first (each database file has its own set, even in
one folder), then why it was made, then the local time it was started. Files that do not
follow the pattern are never listed and never deleted.

Which backups stay is decided as Anki decides it (`rslib/src/collection/backup.rs`): every
backup from today and yesterday, then the newest of each day for `keep_daily` days that have
one, then the newest of each ISO week for `keep_weekly` weeks, then the newest of each month
for `keep_monthly` months. Backups made before a migration, an import or a restore follow
the same rule; being in the last two days keeps them whatever happens after.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from mbfcare import paths
from mbfcare.settings import Settings, load_settings

SUFFIX = ".sqlite"
STAMP_FORMAT = "%Y-%m-%d_%H%M%S"

AUTOMATIC = ""
MANUAL = "thu-cong"
BEFORE_MIGRATION = "truoc-nang-cap"
BEFORE_IMPORT = "truoc-nhap"
BEFORE_RESTORE = "truoc-khoi-phuc"
KINDS = (AUTOMATIC, MANUAL, BEFORE_MIGRATION, BEFORE_IMPORT, BEFORE_RESTORE)

KIND_LABELS = {
    AUTOMATIC: "Tự động",
    MANUAL: "Sao lưu ngay",
    BEFORE_MIGRATION: "Trước khi nâng cấp",
    BEFORE_IMPORT: "Trước khi nhập dữ liệu",
    BEFORE_RESTORE: "Trước khi khôi phục",
}
"""Why a backup was made, for the command line (the window translates the kinds itself)."""


@dataclass(frozen=True)
class BackupPolicy:
    """Where backups go, how many are kept, how often the window makes one.

    Attributes:
        folder: the backups folder.
        keep_daily: days (that have a backup) kept, one backup each.
        keep_weekly: then weeks, one backup each.
        keep_monthly: then months, one backup each.
        minutes: the window backs up a changed database at least this often.
    """

    folder: Path
    keep_daily: int = 7
    keep_weekly: int = 4
    keep_monthly: int = 6
    minutes: int = 30

    @classmethod
    def from_settings(cls, settings: Settings) -> BackupPolicy:
        """The policy the user set (an empty folder means `<data folder>/backups`)."""
        folder = Path(settings.backup_folder) if settings.backup_folder else \
            paths.data_dir() / "backups"
        return cls(folder, settings.keep_daily, settings.keep_weekly, settings.keep_monthly,
                   settings.backup_minutes)

    @classmethod
    def current(cls) -> BackupPolicy:
        """The policy of the stored settings."""
        return cls.from_settings(load_settings())


@dataclass(frozen=True)
class BackupFile:
    """One backup on disk.

    Attributes:
        file: its path.
        taken_at: local time the copy was started (from the name).
        kind: why it was made (`KINDS`; "" = automatic).
        size: bytes.
    """

    file: Path
    taken_at: dt.datetime
    kind: str
    size: int

    @property
    def kind_label(self) -> str:
        """Why it was made, in Vietnamese."""
        return KIND_LABELS.get(self.kind, self.kind)


def backup_name(database: Path, kind: str, when: dt.datetime, number: int = 1) -> str:
    """`mbfcare-truoc-nhap-2026-11-24_143012.sqlite` (`-2` … for a second one that second)."""
    parts = [database.stem, kind, when.strftime(STAMP_FORMAT)] if kind else \
        [database.stem, when.strftime(STAMP_FORMAT)]
    if number > 1:
        parts.append(str(number))
    return "-".join(parts) + SUFFIX


def _pattern(database: Path) -> re.Pattern[str]:
    kinds = "|".join(re.escape(k) for k in KINDS if k)
    return re.compile(rf"^{re.escape(database.stem)}(?:-(?P<kind>{kinds}))?"
                      r"-(?P<stamp>\d{4}-\d{2}-\d{2}_\d{6})(?:-(?P<n>\d+))?\.sqlite$")


def parse_backup_name(database: Path, name: str) -> tuple[str, dt.datetime] | None:
    """(kind, time) of a backup name of this database, None for any other file."""
    match = _pattern(database).match(name)
    if match is None:
        return None
    try:
        when = dt.datetime.strptime(match["stamp"], STAMP_FORMAT)
    except ValueError:
        return None
    return match["kind"] or AUTOMATIC, when


def _order(backup: BackupFile) -> tuple[dt.datetime, int]:
    """Time, then the `-2` … of a second backup in the same second."""
    number = re.search(r"_\d{6}-(\d+)\.sqlite$", backup.file.name)
    return backup.taken_at, int(number[1]) if number else 1


def list_backups(database: Path, folder: Path) -> list[BackupFile]:
    """The backups of `database` in `folder`, newest first (an absent folder has none)."""
    found: list[BackupFile] = []
    try:
        entries = list(folder.iterdir())
    except (FileNotFoundError, NotADirectoryError):
        return []
    for entry in entries:
        parsed = parse_backup_name(database, entry.name)
        if parsed is None:
            continue
        try:
            size = entry.stat().st_size
        except OSError:  # deleted meanwhile
            continue
        found.append(BackupFile(entry, parsed[1], parsed[0], size))
    found.sort(key=_order, reverse=True)
    return found


def next_backup_path(database: Path, folder: Path, kind: str, when: dt.datetime) -> Path:
    """A free name for a backup started at `when`.

    A second backup in the same second (of any kind) gets the next number, so that the
    numbers order backups of one second as they were made.
    """
    pattern = _pattern(database)
    stamp = when.strftime(STAMP_FORMAT)
    used = [0]
    try:
        for entry in folder.iterdir():
            match = pattern.match(entry.name.removesuffix(".partial"))
            if match is not None and match["stamp"] == stamp:
                used.append(int(match["n"] or 1))
    except (FileNotFoundError, NotADirectoryError):
        pass
    return folder / backup_name(database, kind, when, max(used) + 1)


def _week(day: dt.date) -> tuple[int, int]:
    iso = day.isocalendar()
    return iso[0], iso[1]


def obsolete_backups(backups: Iterable[BackupFile], policy: BackupPolicy, now: dt.datetime
                     ) -> list[BackupFile]:
    """The backups to delete; pure.

    Newest first: every backup of today and yesterday stays; then the newest backup of each
    day, for `keep_daily` days; then of each ISO week, for `keep_weekly` weeks; then of each
    month, for `keep_monthly` months; all older ones go. A period is only counted once a
    backup in it is kept, and a kept backup closes its day, week and month for the next
    stage, so a week is never represented twice.
    """
    daily, weekly, monthly = policy.keep_daily, policy.keep_weekly, policy.keep_monthly
    yesterday = now.date() - dt.timedelta(days=1)
    last_day: dt.date | None = None
    last_week: tuple[int, int] | None = None
    last_month: tuple[int, int] | None = None
    obsolete: list[BackupFile] = []
    for backup in sorted(backups, key=_order, reverse=True):
        day = backup.taken_at.date()
        week, month = _week(day), (day.year, day.month)
        if day >= yesterday:
            keep = True
        elif daily > 0:
            keep = last_day is None or day < last_day
            daily -= keep
        elif weekly > 0:
            keep = last_week is None or week < last_week
            weekly -= keep
        elif monthly > 0:
            keep = last_month is None or month < last_month
            monthly -= keep
        else:
            keep = False
        if keep:
            last_day, last_week, last_month = day, week, month
        else:
            obsolete.append(backup)
    return obsolete


def prune_backups(database: Path, policy: BackupPolicy, now: dt.datetime | None = None
                  ) -> list[Path]:
    """Delete the backups of `database` the policy no longer keeps; returns what went."""
    gone: list[Path] = []
    for backup in obsolete_backups(list_backups(database, policy.folder), policy,
                                   now or dt.datetime.now()):
        try:
            backup.file.unlink()
        except FileNotFoundError:
            continue
        except OSError:  # open in another program (an antivirus): the next pruning retries
            continue
        gone.append(backup.file)
    return gone


def newest(backups: Sequence[BackupFile]) -> BackupFile | None:
    """The newest of a list from `list_backups` (which is newest first)."""
    return backups[0] if backups else None
