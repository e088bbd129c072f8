"""Reference data: provinces (old and 2025 names), the KV5 area and mobile number prefixes."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

from mbfcare.domain.vntext import clean_text, fold
from mbfcare.paths import reference_file

__all__ = [
    "ProvinceMatch",
    "in_area",
    "is_mobifone_prefix",
    "kv5_districts",
    "kv5_provinces_2017",
    "legacy_msisdn_prefixes",
    "match_province",
    "new_province_of",
    "new_provinces",
    "old_provinces",
    "operator_of",
]


@dataclass(frozen=True)
class ProvinceMatch:
    """What a province cell of an extract means."""

    written: str  # the extract's value, cleaned, without "Tỉnh"/"TP." in front
    old_names: tuple[str, ...]  # the pre-2025 province(s) it can mean
    new_name: str  # the post-2025 province


@dataclass(frozen=True)
class _Entry:
    old_names: tuple[str, ...]
    new_name: str


@cache
def _load(name: str) -> dict[str, Any]:
    with reference_file(name).open("rb") as fh:
        return tomllib.load(fh)


_PUNCT_RE = re.compile(r"[\s.,;:_\-–—/\\()'\"]+")
# "Tỉnh", "T.", "TP", "TP.", "Thành phố", "T/p", "Thủ đô" in front (already folded).
_PREFIX_RE = re.compile(r"^(?:tinh|thanh pho|thu do|tp|t p|t)\s+")


def _key(text: str) -> str:
    return _PUNCT_RE.sub(" ", fold(text)).strip()


@cache
def _tables() -> tuple[dict[str, _Entry], dict[str, str], dict[str, tuple[str, ...]]]:
    """(folded key -> entry, old name -> new name, new name -> old names)."""
    data = _load("provinces.toml")
    old_to_new: dict[str, str] = {}
    new_to_old: dict[str, tuple[str, ...]] = {}
    for row in data["new_province"]:
        new_to_old[row["name"]] = tuple(row["old"])
    by_key: dict[str, _Entry] = {}
    for row in data["province"]:
        old_to_new[row["name"]] = row["new"]
    # New names first; an old name that is also a new name then lists itself first.
    for new_name, olds in new_to_old.items():
        by_key[_key(new_name)] = _Entry(olds, new_name)
    for row in data["province"]:
        old, new_name = row["name"], row["new"]
        for spelling in (old, *row.get("aliases", ())):
            key = _key(spelling)
            existing = by_key.get(key)
            if existing is not None and existing.new_name == new_name:
                ordered = (old, *(o for o in existing.old_names if o != old))
                by_key[key] = _Entry(ordered, new_name)
            else:
                by_key[key] = _Entry((old,), new_name)
    return by_key, old_to_new, new_to_old


_WRITTEN_PREFIX_RE = re.compile(
    r"^(?:t[iỉ]nh|th[aà]nh\s*ph[oố]|th[uủ]\s*[dđ][oô]|t\s*/\s*p|tp|t\.)(?:[\s.:]+|$)",
    re.IGNORECASE,
)


def _written(text: str) -> str:
    """The cleaned value without a "Tỉnh"/"TP."/"Thành phố" prefix."""
    cleaned = clean_text(text).strip(" .,;:-")
    rest = _WRITTEN_PREFIX_RE.sub("", cleaned, count=1).strip(" .,;:-")
    return rest or cleaned


@lru_cache(maxsize=65536)
def match_province(text: str) -> ProvinceMatch | None:
    """The province meant by an extract's value (old or 2025 name, any prefix/case/accents)."""
    if not text:
        return None
    by_key = _tables()[0]
    key = _key(text)
    if not key:
        return None
    entry = by_key.get(key)
    if entry is None:
        stripped = _PREFIX_RE.sub("", key, count=1)
        if stripped != key:
            entry = by_key.get(stripped)
        if entry is None:
            entry = by_key.get(key.replace(" ", ""))
    if entry is None:
        return None
    return ProvinceMatch(written=_written(text), old_names=entry.old_names, new_name=entry.new_name)


def old_provinces() -> tuple[str, ...]:
    """The 63 pre-2025 provinces, official names."""
    return tuple(_tables()[1])


def new_provinces() -> tuple[str, ...]:
    """The 34 provinces from 1 July 2025."""
    return tuple(_tables()[2])


def new_province_of(old_name: str) -> str:
    """The post-2025 province an old province (any spelling) lies in; KeyError if unknown."""
    old_to_new = _tables()[1]
    if old_name in old_to_new:
        return old_to_new[old_name]
    found = match_province(old_name)
    if found is None:
        raise KeyError(old_name)
    return found.new_name


def kv5_provinces_2017() -> tuple[str, ...]:
    """The 13 provinces of MobiFone Region 5 around 2017 (the default programme's area)."""
    return tuple(_load("provinces.toml")["kv5_2017"]["provinces"])


def kv5_districts(province: str) -> tuple[str, ...]:
    """The 2017 districts of a KV5 province (any spelling of its old name); () otherwise."""
    districts: dict[str, list[str]] = _load("provinces.toml")["kv5_2017"]["districts"]
    if province in districts:
        return tuple(districts[province])
    found = match_province(province)
    if found is None or len(found.old_names) == 0:
        return ()
    return tuple(districts.get(found.old_names[0], ()))


def in_area(match: ProvinceMatch, area_old_names: Iterable[str]) -> bool:
    """Whether any of the pre-2025 provinces the match can mean is in the area.

    For a 2025 name only partly in the area this is still True: the district decides later.
    """
    area = set(area_old_names)
    return any(name in area for name in match.old_names)


# --------------------------------------------------------------------------- numbers


@cache
def legacy_msisdn_prefixes() -> dict[str, str]:
    """Eleven-digit prefixes before the 2018 conversion -> new prefix ("0120" -> "070")."""
    return dict(_load("msisdn_prefixes.toml")["legacy"])


@cache
def _prefix_operator() -> dict[str, str]:
    table: dict[str, str] = {}
    for operator, row in _load("msisdn_prefixes.toml")["operators"].items():
        for prefix in row["prefixes"]:
            table[prefix] = operator
    return table


def operator_of(msisdn10: str) -> str | None:
    """Operator that was given the prefix of a 10-digit `0xxxxxxxxx` number; None if not mobile."""
    if len(msisdn10) != 10 or not msisdn10.isdigit() or msisdn10[0] != "0":
        return None
    return _prefix_operator().get(msisdn10[:3])


def is_mobifone_prefix(msisdn10: str) -> bool:
    """Whether a 10-digit number carries a MobiFone prefix."""
    return operator_of(msisdn10) == "mobifone"


@cache
def _default_stores() -> dict[str, dict[str, str]]:
    data = _load("stores.toml")
    return {province: dict(districts) for province, districts in data.items()}


def default_store(province: str | None, district: str | None) -> str | None:
    """The store that serves a district when the extract names none (reference data)."""
    if not district:
        return None
    stores = _default_stores()
    if province and province in stores:
        return stores[province].get(district)
    for districts in stores.values():
        if district in districts:
            return districts[district]
    return None


def old_provinces_of(new_name: str) -> tuple[str, ...]:
    """The pre-2025 provinces merged into a post-2025 province (empty if unknown)."""
    match = match_province(new_name)
    return match.old_names if match is not None and match.new_name == new_name else ()
