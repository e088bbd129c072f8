"""The English translation (resources/i18n/mbfcare_en.ts) is complete and keeps placeholders.

Every message must be translated (no `type="unfinished"`, no empty text), and each translation
must keep the `{name}` fields (str.format), the `%1`/`%n` markers (QString.arg, replace) and the
`&` mnemonic of its Vietnamese source, or the running program shows Vietnamese, fails on
`.format`, or loses a keyboard accelerator.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

TS_FILE = Path(__file__).resolve().parents[2] / "resources" / "i18n" / "mbfcare_en.ts"

# `{name}` fields and `%1`/`%n` markers; `{{` and `}}` are literal braces, not fields.
_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{[^{}]*\}|%(?:\d+|n)")


def _messages() -> list[tuple[str, str, list[str], bool]]:
    """(context, source, translations, unfinished) per message of the .ts."""
    found = []
    for context in ET.parse(TS_FILE).getroot().iter("context"):
        name = context.findtext("name") or ""
        for message in context.iter("message"):
            source = message.findtext("source") or ""
            translation = message.find("translation")
            if translation is None:
                found.append((name, source, [], True))
                continue
            forms = translation.findall("numerusform")
            texts = [f.text or "" for f in forms] if forms else [translation.text or ""]
            unfinished = translation.get("type") in ("unfinished", "vanished", "obsolete")
            found.append((name, source, texts, unfinished))
    return found


def _placeholders(text: str) -> set[str]:
    return set(_PLACEHOLDER.findall(text))


def _mnemonics(text: str) -> int:
    return text.replace("&&", "").count("&")


@pytest.fixture(scope="module")
def messages() -> list[tuple[str, str, list[str], bool]]:
    return _messages()


def test_the_file_has_messages(messages: list[tuple[str, str, list[str], bool]]) -> None:
    assert len(messages) > 100


def test_every_message_is_translated(messages: list[tuple[str, str, list[str], bool]]) -> None:
    offending = [f"{context}: {source!r}" for context, source, texts, unfinished in messages
                 if unfinished or not texts or any(not t.strip() for t in texts)]
    assert not offending, "unfinished or empty translations:\n" + "\n".join(offending)


def test_translations_keep_the_placeholders(
    messages: list[tuple[str, str, list[str], bool]],
) -> None:
    offending = []
    for context, source, texts, _unfinished in messages:
        wanted = _placeholders(source)
        for text in texts:
            if _placeholders(text) != wanted:
                offending.append(f"{context}: {source!r} -> {text!r} "
                                 f"(source {sorted(wanted)}, translation "
                                 f"{sorted(_placeholders(text))})")
    assert not offending, "placeholders differ:\n" + "\n".join(offending)


def test_translations_keep_the_mnemonics(
    messages: list[tuple[str, str, list[str], bool]],
) -> None:
    offending = [f"{context}: {source!r} -> {text!r}"
                 for context, source, texts, _unfinished in messages for text in texts
                 if _mnemonics(text) != _mnemonics(source)]
    assert not offending, "'&' mnemonics differ:\n" + "\n".join(offending)
