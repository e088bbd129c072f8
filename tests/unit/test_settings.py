"""Settings: defaults, a round trip through TOML, tolerance of bad files, upgrades."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from mbfcare.settings import (
    SETTINGS_VERSION,
    Settings,
    load_settings,
    save_settings,
    settings_path,
)


def test_missing_file_gives_defaults(data_home: Path) -> None:
    assert not settings_path().exists()
    assert load_settings() == Settings(language="vi", version=SETTINGS_VERSION)


def test_round_trip(data_home: Path) -> None:
    save_settings(Settings(language="en"))
    assert settings_path() == data_home / "settings.toml"
    assert load_settings() == Settings(language="en")
    text = settings_path().read_text(encoding="utf-8")
    assert 'language = "en"' in text
    assert f"version = {SETTINGS_VERSION}" in text
    assert list(data_home.glob(".settings-*")) == []  # no temporary file left behind


@pytest.mark.parametrize("content", [
    "language = [unclosed",
    "\xff\xfe not utf-8",
    'language = "klingon"',
    "language = 3",
])
def test_bad_files_give_defaults_and_are_logged(
    data_home: Path, caplog: pytest.LogCaptureFixture, content: str
) -> None:
    settings_path().write_bytes(content.encode("latin-1"))
    # Attach directly: an app test may have stopped `mbfcare` logs propagating to the root.
    logger = logging.getLogger("mbfcare.settings")
    logger.addHandler(caplog.handler)
    try:
        with caplog.at_level(logging.WARNING, logger="mbfcare.settings"):
            assert load_settings() == Settings()
    finally:
        logger.removeHandler(caplog.handler)
    assert any(r.levelno == logging.WARNING for r in caplog.records)


def test_version_0_file_is_upgraded(data_home: Path) -> None:
    settings_path().write_text('language = "en_US"\n', encoding="utf-8")
    assert load_settings() == Settings(language="en", version=SETTINGS_VERSION)


def test_newer_file_keeps_what_is_known(data_home: Path) -> None:
    settings_path().write_text(
        f'version = {SETTINGS_VERSION + 5}\nlanguage = "en"\nfuture = true\n', encoding="utf-8")
    assert load_settings().language == "en"
