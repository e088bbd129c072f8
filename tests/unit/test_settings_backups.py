"""The backup settings: defaults, the upgrade from version 1, bounds."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from mbfcare.errors import ValidationError
from mbfcare.settings import (
    SETTINGS_VERSION,
    Settings,
    load_settings,
    save_settings,
    settings_path,
    validate_backup_settings,
)


def test_defaults_keep_at_least_7_daily_4_weekly_6_monthly() -> None:
    settings = Settings()
    assert (settings.backup_folder, settings.keep_daily, settings.keep_weekly,
            settings.keep_monthly, settings.backup_minutes) == ("", 7, 4, 6, 30)
    assert SETTINGS_VERSION == 2


def test_a_version_1_file_gets_the_backup_defaults(data_home: Path) -> None:
    settings_path().write_text('language = "en"\nversion = 1\n', encoding="utf-8")
    assert load_settings() == Settings(language="en")


def test_round_trip(data_home: Path, tmp_path: Path) -> None:
    chosen = Settings(backup_folder=str(tmp_path / "Sao lưu"), keep_daily=14, keep_weekly=8,
                      keep_monthly=12, backup_minutes=15)
    save_settings(chosen)
    text = settings_path().read_text(encoding="utf-8")
    assert "keep_daily = 14" in text and "backup_minutes = 15" in text
    assert load_settings() == chosen


@pytest.mark.parametrize("line", ["keep_daily = 0", "keep_weekly = -1", "keep_monthly = 1000",
                                  "backup_minutes = 1", "keep_daily = true",
                                  'keep_daily = "7"', "backup_folder = 3"])
def test_out_of_bounds_values_fall_back_and_are_logged(
        data_home: Path, caplog: pytest.LogCaptureFixture, line: str) -> None:
    settings_path().write_text(f"{line}\nversion = 2\n", encoding="utf-8")
    logger = logging.getLogger("mbfcare.settings")
    logger.addHandler(caplog.handler)
    try:
        with caplog.at_level(logging.WARNING, logger="mbfcare.settings"):
            assert load_settings() == Settings()
    finally:
        logger.removeHandler(caplog.handler)
    assert any(r.levelno == logging.WARNING for r in caplog.records)


def test_saving_refuses_what_loading_would_not_accept(data_home: Path) -> None:
    bad = Settings(keep_daily=0, backup_minutes=2)
    assert validate_backup_settings(bad) == [
        "Số bản sao lưu giữ theo ngày phải từ 1 đến 365, không phải 0.",
        "Số phút giữa hai lần tự sao lưu phải từ 5 đến 1440, không phải 2.",
    ]
    with pytest.raises(ValidationError, match="theo ngày phải từ 1 đến 365"):
        save_settings(bad)
    assert not settings_path().exists()
