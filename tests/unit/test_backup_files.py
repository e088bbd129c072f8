"""Backup file names and which backups are kept (Anki's daily/weekly/monthly thinning)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from mbfcare import backup_files
from mbfcare.backup_files import BackupFile, BackupPolicy, obsolete_backups
from mbfcare.settings import Settings

DB = Path("/data/mbfcare.sqlite")
NOW = dt.datetime(2026, 11, 24, 10, 0)  # a Tuesday (ISO week 48)


def _b(*when: int) -> BackupFile:
    stamp = dt.datetime(*when)  # type: ignore[arg-type]
    return BackupFile(Path(backup_files.backup_name(DB, "", stamp)), stamp, "", 1)


def test_names_carry_the_database_the_reason_and_the_time() -> None:
    when = dt.datetime(2026, 11, 24, 14, 30, 12)
    assert backup_files.backup_name(DB, "", when) == "mbfcare-2026-11-24_143012.sqlite"
    assert backup_files.backup_name(DB, "truoc-nhap", when, 2) == \
        "mbfcare-truoc-nhap-2026-11-24_143012-2.sqlite"
    assert backup_files.parse_backup_name(DB, "mbfcare-truoc-khoi-phuc-2026-11-24_143012.sqlite") \
        == ("truoc-khoi-phuc", when)
    assert backup_files.parse_backup_name(DB, "mbfcare-2026-11-24_143012-3.sqlite") == ("", when)
    # Another database's backups, other files and half-written copies are not ours.
    for name in ("khac-2026-11-24_143012.sqlite", "mbfcare-2026-11-24_143012.sqlite.partial",
                 "mbfcare-la-2026-11-24_143012.sqlite", "mbfcare-2026-13-24_143012.sqlite",
                 "ghi-chu.txt"):
        assert backup_files.parse_backup_name(DB, name) is None


def test_listing_is_newest_first_and_ignores_foreign_files(tmp_path: Path) -> None:
    db = tmp_path / "mbfcare.sqlite"
    for name in ("mbfcare-2026-11-20_080000.sqlite", "mbfcare-thu-cong-2026-11-22_090000.sqlite",
                 "mbfcare-truoc-nhap-2026-11-21_100000.sqlite", "khac-2026-11-23_100000.sqlite",
                 "mbfcare-2026-11-23_100000.sqlite.partial", "doc-ky.txt"):
        (tmp_path / name).write_bytes(b"x" * 10)
    found = backup_files.list_backups(db, tmp_path)
    assert [(b.taken_at.day, b.kind, b.size) for b in found] == [
        (22, "thu-cong", 10), (21, "truoc-nhap", 10), (20, "", 10)]
    assert found[0].kind_label == "Sao lưu ngay"
    assert backup_files.list_backups(db, tmp_path / "none") == []


def test_thinning_keeps_recent_then_daily_weekly_monthly() -> None:
    policy = BackupPolicy(Path("/b"), keep_daily=3, keep_weekly=2, keep_monthly=1)
    kept_or_not = [
        # today and yesterday: all kept
        (_b(2026, 11, 24, 9), True), (_b(2026, 11, 24, 8), True), (_b(2026, 11, 23, 18), True),
        # daily: the newest of each day, three days
        (_b(2026, 11, 22, 18), True), (_b(2026, 11, 22, 6), False),
        (_b(2026, 11, 20, 12), True), (_b(2026, 11, 19, 12), True),
        # weekly: 11-17 is in the week of 11-19 (already kept); Sunday 11-15 ends week 46,
        # whose Monday 11-09 is then represented; Sunday 11-08 ends week 45
        (_b(2026, 11, 17, 12), False), (_b(2026, 11, 15, 2), True), (_b(2026, 11, 15, 1), False),
        (_b(2026, 11, 9, 12), False), (_b(2026, 11, 8, 12), True),
        # monthly: November is represented; one October
        (_b(2026, 11, 2, 12), False), (_b(2026, 10, 24, 12), True), (_b(2026, 10, 1, 12), False),
        (_b(2026, 9, 1, 12), False),
    ]
    backups = [b for b, _ in kept_or_not]
    expected = [b for b, keep in kept_or_not if not keep]
    assert obsolete_backups(reversed(backups), policy, NOW) == expected


def test_a_year_of_daily_backups_keeps_7_daily_4_weekly_6_monthly() -> None:
    policy = BackupPolicy(Path("/b"))
    backups = [_b(*(NOW - dt.timedelta(days=i)).timetuple()[:4]) for i in range(1, 400)]
    obsolete = obsolete_backups(backups, policy, NOW)
    kept = sorted(set(backups) - set(obsolete), key=lambda b: b.taken_at, reverse=True)
    assert len(kept) == 1 + 7 + 4 + 6  # yesterday, then the policy
    days = [b.taken_at.date() for b in kept]
    assert days[:8] == [NOW.date() - dt.timedelta(days=i) for i in range(1, 9)]
    weeks = [d.isocalendar()[:2] for d in days[8:12]]
    assert len(set(weeks)) == 4
    months = [(d.year, d.month) for d in days[12:]]
    assert len(set(months)) == 6 and (NOW.year, NOW.month) not in months[1:]


def test_nothing_to_keep_beyond_the_counts() -> None:
    policy = BackupPolicy(Path("/b"), keep_daily=1, keep_weekly=0, keep_monthly=0)
    backups = [_b(2026, 11, 10, 9), _b(2026, 11, 5, 9), _b(2026, 10, 5, 9)]
    assert obsolete_backups(backups, policy, NOW) == backups[1:]


def test_pruning_deletes_only_what_the_policy_drops(tmp_path: Path) -> None:
    db = tmp_path / "mbfcare.sqlite"
    folder = tmp_path / "backups"
    folder.mkdir()
    policy = BackupPolicy(folder, keep_daily=1, keep_weekly=0, keep_monthly=0)
    for when in ((2026, 11, 24, 9), (2026, 11, 20, 9), (2026, 11, 19, 9)):
        (folder / backup_files.backup_name(db, "", dt.datetime(*when))).write_bytes(b"x")
    (folder / "notes.txt").write_text("keep me")
    gone = backup_files.prune_backups(db, policy, NOW)
    assert [p.name for p in gone] == ["mbfcare-2026-11-19_090000.sqlite"]
    assert sorted(p.name for p in folder.iterdir()) == [
        "mbfcare-2026-11-20_090000.sqlite", "mbfcare-2026-11-24_090000.sqlite", "notes.txt"]


def test_policy_from_settings(data_home: Path, tmp_path: Path) -> None:
    assert BackupPolicy.from_settings(Settings()) == BackupPolicy(data_home / "backups", 7, 4,
                                                                  6, 30)
    custom = Settings(backup_folder=str(tmp_path / "sl"), keep_daily=10, keep_weekly=8,
                      keep_monthly=12, backup_minutes=15)
    assert BackupPolicy.from_settings(custom) == BackupPolicy(tmp_path / "sl", 10, 8, 12, 15)


@pytest.mark.parametrize("kind", backup_files.KINDS)
def test_every_kind_has_a_label_and_round_trips(kind: str) -> None:
    when = dt.datetime(2026, 1, 2, 3, 4, 5)
    name = backup_files.backup_name(DB, kind, when)
    assert backup_files.parse_backup_name(DB, name) == (kind, when)
    assert backup_files.KIND_LABELS[kind]
