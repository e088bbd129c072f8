"""Vietnamese collation: alphabet, tones, given-name-first order, NFC/NFD and case."""

from __future__ import annotations

import random
import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from mbfcare.domain.collation import name_sort_key, vietnamese_sort_key, word_sort_key

ALPHABET = [
    "a",
    "ă",
    "â",
    "b",
    "c",
    "d",
    "đ",
    "e",
    "ê",
    "g",
    "h",
    "i",
    "k",
    "l",
    "m",
    "n",
    "o",
    "ô",
    "ơ",
    "p",
    "q",
    "r",
    "s",
    "t",
    "u",
    "ư",
    "v",
    "x",
    "y",
]


def test_alphabet_order() -> None:
    shuffled = ALPHABET[:]
    random.Random(7).shuffle(shuffled)
    assert sorted(shuffled, key=vietnamese_sort_key) == ALPHABET
    assert sorted([w.upper() for w in shuffled], key=vietnamese_sort_key) == [
        w.upper() for w in ALPHABET
    ]


def test_tone_order_is_secondary() -> None:
    tones = ["ma", "mà", "mả", "mã", "má", "mạ"]
    assert sorted(reversed(tones), key=vietnamese_sort_key) == tones
    # letters first, then tones: every "ma…" before "mac", whatever the tone
    assert sorted(["mác", "mạ", "ma", "mắc"], key=vietnamese_sort_key) == ["ma", "mạ", "mác", "mắc"]


def test_d_before_dd_and_modified_letters_after_base() -> None:
    assert sorted(["Đức", "Dũng", "Dung"], key=vietnamese_sort_key) == ["Dung", "Dũng", "Đức"]
    assert sorted(["ơi", "ôi", "oi", "ưa", "ua"], key=vietnamese_sort_key) == [
        "oi",
        "ôi",
        "ơi",
        "ua",
        "ưa",
    ]
    assert sorted(["ân", "ăn", "an"], key=vietnamese_sort_key) == ["an", "ăn", "ân"]


def test_word_by_word_like_a_dictionary() -> None:
    # the first syllable is settled (letters and tone) before the next one counts
    assert vietnamese_sort_key("ma xó") < vietnamese_sort_key("má ơi")
    assert vietnamese_sort_key("An") < vietnamese_sort_key("An Bình") < vietnamese_sort_key("Anh")


def test_tone_position_and_case_do_not_matter() -> None:
    assert word_sort_key("hoà") == word_sort_key("hòa")
    assert word_sort_key("thuý") == word_sort_key("thúy")
    assert vietnamese_sort_key("NGUYỄN") == vietnamese_sort_key("nguyễn")
    assert vietnamese_sort_key("  Lê   Chân ") == vietnamese_sort_key("Lê Chân")


def test_names_sort_by_given_name_first() -> None:
    names = [
        "Đặng Văn Đức",
        "Trần Thị Ánh",
        "Hoàng Dũng",
        "Lê Bảo Anh",
        "Vũ Thị Bình",
        "Nguyễn Văn An",
        "Phạm Thị Ân",
        "Trần Văn An",
        "Bùi Ngọc Ăn",
    ]
    assert sorted(names, key=name_sort_key) == [
        "Nguyễn Văn An",  # An: family name Nguyễn < Trần
        "Trần Văn An",
        "Lê Bảo Anh",  # Anh (ngang) before Ánh (sắc)
        "Trần Thị Ánh",
        "Bùi Ngọc Ăn",  # ă after a: An, Anh, Ánh before Ăn
        "Phạm Thị Ân",
        "Vũ Thị Bình",
        "Hoàng Dũng",  # d before đ
        "Đặng Văn Đức",
    ]


def test_name_key_family_before_middle_names() -> None:
    assert name_sort_key("Lê Văn An") < name_sort_key("Nguyễn An")  # Lê < Nguyễn
    assert name_sort_key("Lê An") < name_sort_key("Lê Văn An")  # one word fewer first
    assert name_sort_key("") == ()


def test_digits_before_letters_and_punctuation_first() -> None:
    assert sorted(["b", "2", "a", "-"], key=vietnamese_sort_key) == ["-", "2", "a", "b"]


VIETNAMESE_TEXT = st.text(
    alphabet=st.sampled_from(
        "aăâbcdđeêghiklmnoôơpqrstuưvxy AĂÂĐÊÔƠƯ"
        "àảãáạằẳẵắặầẩẫấậèẻẽéẹềểễếệìỉĩíịòỏõóọồổỗốộờởỡớợùủũúụừửữứựỳỷỹýỵ"
        "ÀÁẠỆỘỨ0123456789-'=\u0300\u0301\u0323"
    ),
    max_size=16,
)


@given(VIETNAMESE_TEXT)
def test_nfc_and_nfd_give_the_same_key(text: str) -> None:
    nfc = unicodedata.normalize("NFC", text)
    nfd = unicodedata.normalize("NFD", text)
    assert vietnamese_sort_key(nfc) == vietnamese_sort_key(nfd)
    assert name_sort_key(nfc) == name_sort_key(nfd)


@given(st.text(max_size=12))
def test_any_unicode_text_nfc_nfd_consistent(text: str) -> None:
    assert vietnamese_sort_key(unicodedata.normalize("NFC", text)) == vietnamese_sort_key(
        unicodedata.normalize("NFD", text)
    )


@given(st.lists(VIETNAMESE_TEXT, min_size=3, max_size=3))
def test_key_is_a_total_order(texts: list[str]) -> None:
    a, b, c = (vietnamese_sort_key(t) for t in texts)
    assert (a <= b) or (b <= a)  # total
    if a <= b and b <= a:
        assert a == b  # antisymmetric
    if a <= b and b <= c:
        assert a <= c  # transitive


@given(st.lists(VIETNAMESE_TEXT, max_size=20))
def test_sorting_nfd_input_matches_sorting_nfc_input(texts: list[str]) -> None:
    pairs = [(unicodedata.normalize("NFC", t), unicodedata.normalize("NFD", t)) for t in texts]
    by_nfc = sorted(pairs, key=lambda p: (vietnamese_sort_key(p[0]), p[0]))
    by_nfd = sorted(pairs, key=lambda p: (vietnamese_sort_key(p[1]), p[0]))
    assert by_nfc == by_nfd


@given(VIETNAMESE_TEXT)
def test_case_insensitive(text: str) -> None:
    assert vietnamese_sort_key(text.upper()) == vietnamese_sort_key(text.lower())
