"""Vietnamese collation: sort keys for words and personal names, tones as the secondary key."""

from __future__ import annotations

import unicodedata
from functools import lru_cache

__all__ = ["name_sort_key", "vietnamese_sort_key", "word_sort_key"]

# The Vietnamese alphabet, with f, j, w, z (loan words, foreign names) at their Latin places.
_ALPHABET = (
    "a", "ă", "â", "b", "c", "d", "đ", "e", "ê", "f", "g", "h", "i", "j", "k", "l", "m", "n",
    "o", "ô", "ơ", "p", "q", "r", "s", "t", "u", "ư", "v", "w", "x", "y", "z",
)
# Letters after NFD: base letter plus the marks that make a distinct letter (not a tone).
_BREVE, _CIRCUMFLEX, _HORN = "\u0306", "\u0302", "\u031b"
_LETTER_MARKS = frozenset((_BREVE, _CIRCUMFLEX, _HORN))
_DECOMPOSED = {
    "ă": "a" + _BREVE, "â": "a" + _CIRCUMFLEX, "ê": "e" + _CIRCUMFLEX,
    "ô": "o" + _CIRCUMFLEX, "ơ": "o" + _HORN, "ư": "u" + _HORN,
}
# Tones in dictionary order: ngang (no mark) 0, huyền 1, hỏi 2, ngã 3, sắc 4, nặng 5.
_TONES = {"\u0300": 1, "\u0309": 2, "\u0303": 3, "\u0301": 4, "\u0323": 5}

# Primary weights are plain ints so keys compare fast: other characters (punctuation, symbols)
# by code point, then digits, then the alphabet, then letters of other scripts.
_DIGIT_BASE = 0x110000
_LETTER_BASE = 0x110100
_OTHER_LETTER_BASE = 0x120000
_RANK = {_DECOMPOSED.get(letter, letter): _LETTER_BASE + i for i, letter in enumerate(_ALPHABET)}
# Đ has no decomposition; the Icelandic eth (Ð, U+00D0) often stands in for it in old files.
_RANK["ð"] = _RANK["đ"]

WordKey = tuple[tuple[int, ...], tuple[int, ...]]


def _weight(char: str) -> int:
    if "0" <= char <= "9":
        return _DIGIT_BASE + ord(char) - 48
    if char.isalpha():
        return _OTHER_LETTER_BASE + ord(char)
    return ord(char)


def _word_key_nfd(word: str) -> WordKey:
    """Key of one lower-cased NFD word: (letters, tones); tones are one per syllable."""
    letters: list[int] = []
    tones: list[int] = []
    i, n = 0, len(word)
    while i < n:
        base = word[i]
        i += 1
        marks = ""
        while i < n and (word[i] in _LETTER_MARKS or word[i] in _TONES):
            if word[i] in _TONES:
                tones.append(_TONES[word[i]])
            else:
                marks += word[i]
            i += 1
        rank = _RANK.get(base + marks)
        if rank is not None:
            letters.append(rank)
            continue
        # a mark that makes no Vietnamese letter here (ĕ, ơ̆...): the base, then the marks
        letters.append(_RANK.get(base) or _weight(base))
        letters.extend(ord(mark) for mark in marks)
    return tuple(letters), tuple(tones)


@lru_cache(maxsize=65536)
def word_sort_key(word: str) -> WordKey:
    """Sort key of one word (no spaces): its letters first, then its tone(s).

    The word is compared letter by letter in the Vietnamese alphabet; words with the same
    letters are ordered by tone (ngang, huyền, hỏi, ngã, sắc, nặng). Where the tone mark sits
    (`hoà` or `hòa`) and the Unicode form (NFC or NFD) make no difference; case is ignored.
    """
    # NFD first, so that canonically equivalent input yields identical text below.
    text = unicodedata.normalize("NFD", word)
    text = unicodedata.normalize("NFD", text.lower())
    return _word_key_nfd(text)


def vietnamese_sort_key(text: str) -> tuple[WordKey, ...]:
    """Sort key of a text in Vietnamese dictionary order, word by word.

    Each word is ordered by its letters (a ă â b c d đ e ê g h i k l m n o ô ơ p q r s t u ư v
    x y) and then by tone, before the next word is looked at, as Vietnamese dictionaries do
    (`ma xó` < `má ơi`). Case-insensitive; runs of spaces count as one.
    """
    return tuple(word_sort_key(word) for word in text.split())


def name_sort_key(full_name: str) -> tuple[WordKey, ...]:
    """Sort key of a Vietnamese personal name: the given name (last word) first, then the
    family name and the middle names in the order written (`Lê Bảo Anh` sorts under `Anh`).
    """
    words = full_name.split()
    if not words:
        return ()
    return (word_sort_key(words[-1]), *(word_sort_key(word) for word in words[:-1]))
