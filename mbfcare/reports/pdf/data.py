"""What the printed documents show: plain frozen values, and the editable wording.

The wording comes from `resources/templates/forms.toml`, overridden per programme by a
mapping of the same shape (`load_form_settings(overrides)`); the documents' data are filled by
`mbfcare.services.printing` and drawn by the modules beside this one.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from mbfcare.paths import resource_file

__all__ = [
    "Customer",
    "FormSettings",
    "FormSettingsProblem",
    "InfoFormData",
    "InvitationData",
    "ListLine",
    "Printed",
    "ReceiptData",
    "SignatureSection",
    "StoreInfo",
    "SurveyData",
    "default_forms_path",
    "load_form_settings",
    "merge_settings",
]


# --------------------------------------------------------------------------- wording


class FormSettingsProblem(ValueError):
    """A forms template (file or programme override) that cannot be used; says which key."""


@dataclass(frozen=True)
class StoreInfo:
    """A store as the invitation prints it."""

    name: str
    address: str
    hours: str


_TITLE_KEYS = ("giver", "receiver", "giver_position_store", "giver_position_visit",
               "list_maker", "list_approver", "surveyor", "collector", "customer",
               "invitation_signer")
_NUMBER_KEYS = ("receipt", "signature_list", "invitation")
_INVITATION_KEYS = ("title", "subtitle", "body", "bring", "closing")
_TOP_KEYS = frozenset({"organisation", "branch_default", "branches", "places", "titles",
                       "numbers", "invitation", "stores"})


@dataclass(frozen=True)
class FormSettings:
    """The documents' editable wording (see `resources/templates/forms.toml`)."""

    organisation: tuple[str, ...]
    branch_default: str
    branches: Mapping[str, str]
    places: Mapping[str, str]
    titles: Mapping[str, str]
    numbers: Mapping[str, str]
    invitation: Mapping[str, str]
    default_hours: str
    stores: Mapping[str, StoreInfo] = field(default_factory=dict)

    def branch(self, province: str | None) -> str:
        """The branch line (upper case) for a province."""
        name = (province or "").strip()
        if name in self.branches:
            return self.branches[name]
        return self.branch_default.replace("{province}", name).upper().strip()

    def place(self, province: str | None) -> str:
        """The place in the date line: the province's name unless `[places]` says otherwise."""
        name = (province or "").strip()
        return self.places.get(name, name)

    def store(self, name: str, district: str = "", province: str = "") -> StoreInfo:
        """A store's address and hours; an unlisted store shows its district and province."""
        info = self.stores.get(name)
        area = ", ".join(x for x in (f"quận/huyện {district}" if district else "", province)
                         if x)
        address = info.address if info and info.address else area[:1].upper() + area[1:]
        hours = info.hours if info and info.hours else self.default_hours
        return StoreInfo(name, address, hours)


def default_forms_path() -> Path:
    """The shipped template file."""
    return resource_file("templates", "forms.toml")


@cache
def _shipped() -> Mapping[str, Any]:
    with default_forms_path().open("rb") as f:
        return MappingProxyType(tomllib.load(f))


def merge_settings(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """`override` laid over `base`, table by table (a list or a value replaces)."""
    merged: dict[str, Any] = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge_settings(merged[key], value)
        else:
            merged[key] = value
    return merged


def _str(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise FormSettingsProblem(f"Mẫu in: '{where}' phải là chuỗi chữ.")
    return value.strip()


def _table(raw: Mapping[str, Any], key: str, keys: Sequence[str] | None) -> dict[str, str]:
    table = raw.get(key, {})
    if not isinstance(table, Mapping):
        raise FormSettingsProblem(f"Mẫu in: '{key}' phải là một bảng [{key}].")
    if keys is not None:
        unknown = sorted(set(table) - set(keys))
        if unknown:
            raise FormSettingsProblem(f"Mẫu in: khóa lạ trong [{key}]: {', '.join(unknown)}.")
    values = {str(k): _str(v, f"{key}.{k}") for k, v in table.items()}
    missing = [k for k in keys or () if k not in values]
    if missing:
        raise FormSettingsProblem(f"Mẫu in: thiếu {', '.join(missing)} trong [{key}].")
    return values


def _from_mapping(raw: Mapping[str, Any]) -> FormSettings:
    unknown = sorted(set(raw) - _TOP_KEYS)
    if unknown:
        raise FormSettingsProblem(f"Mẫu in: khóa lạ {', '.join(unknown)}.")
    organisation = raw.get("organisation", [])
    if not isinstance(organisation, list) or not all(isinstance(x, str) for x in organisation):
        raise FormSettingsProblem("Mẫu in: 'organisation' phải là danh sách các dòng chữ.")
    stores_raw = raw.get("stores", {})
    if not isinstance(stores_raw, Mapping):
        raise FormSettingsProblem("Mẫu in: 'stores' phải là một bảng [stores].")
    info_raw = stores_raw.get("info", {})
    if not isinstance(info_raw, Mapping):
        raise FormSettingsProblem("Mẫu in: 'stores.info' phải là một bảng.")
    stores: dict[str, StoreInfo] = {}
    for name, info in info_raw.items():
        if not isinstance(info, Mapping) or set(info) - {"address", "hours"}:
            raise FormSettingsProblem(f"Mẫu in: cửa hàng '{name}' chỉ có address và hours.")
        stores[str(name)] = StoreInfo(str(name), _str(info.get("address", ""), f"{name}.address"),
                                      _str(info.get("hours", ""), f"{name}.hours"))
    return FormSettings(
        organisation=tuple(line.strip() for line in organisation if line.strip()),
        branch_default=_str(raw.get("branch_default", "MOBIFONE {province}"),
                            "branch_default"),
        branches=MappingProxyType(_table(raw, "branches", None)),
        places=MappingProxyType(_table(raw, "places", None)),
        titles=MappingProxyType(_table(raw, "titles", _TITLE_KEYS)),
        numbers=MappingProxyType(_table(raw, "numbers", _NUMBER_KEYS)),
        invitation=MappingProxyType(_table(raw, "invitation", _INVITATION_KEYS)),
        default_hours=_str(stores_raw.get("default_hours", ""), "stores.default_hours"),
        stores=MappingProxyType(stores),
    )


def load_form_settings(overrides: Mapping[str, Any] | None = None) -> FormSettings:
    """The shipped wording with a programme's overrides laid over it.

    Raises:
        FormSettingsProblem: an unknown key, a value of the wrong kind, a missing text.
    """
    return _from_mapping(merge_settings(_shipped(), overrides or {}))


# --------------------------------------------------------------------------- documents


@dataclass(frozen=True)
class Printed:
    """One printed copy's identity: its number in the print log and its codes."""

    number: int
    code: str  # the QR payload, MBFC-R-1-4821-K7Q2M9-63
    check: str  # the short code beside the QR, 4821-K7Q2M9


@dataclass(frozen=True)
class Customer:
    """The customer as the extract knows them."""

    name: str
    msisdn: str  # 10 digits
    address: str
    id_number: str
    birth_date: dt.date | None
    province: str
    district: str
    store: str


@dataclass(frozen=True)
class ReceiptData:
    """A gift handover receipt (biên bản giao nhận quà tặng) of one customer."""

    printed: Printed
    customer: Customer
    programme: str
    batch: int
    care_month: str  # MM/YYYY
    group: int | None
    delivery: str | None  # `visit` or `store`
    gift_type: str
    items: tuple[str, ...]
    item_given: str | None = None  # handed over (or owed): the item
    given_on: dt.date | None = None
    given_by: str = ""
    owed: bool = False


@dataclass(frozen=True)
class ListLine:
    """A line of a signature list."""

    name: str
    msisdn: str
    address: str
    gift: str
    given_on: dt.date | None


@dataclass(frozen=True)
class SignatureSection:
    """One signature list: a store's (pick-up) or a district's (home visits) customers."""

    number: int
    programme: str
    batch: int
    care_month: str
    province: str
    place: str  # the store or "Quận/huyện …"
    delivery: str | None
    lines: Sequence[ListLine]
    on: dt.date


@dataclass(frozen=True)
class SurveyData:
    """A survey form: of one customer (with its code) or blank (both None)."""

    printed: Printed | None
    customer: Customer | None
    programme: str
    batch: int | None
    province: str


@dataclass(frozen=True)
class InfoFormData:
    """An information collection form: of one customer (with its code) or blank."""

    printed: Printed | None
    customer: Customer | None
    missing: tuple[str, ...]
    programme: str
    batch: int | None
    province: str


@dataclass(frozen=True)
class InvitationData:
    """An invitation to pick the gift up at the customer's store."""

    printed: Printed
    customer: Customer
    programme: str
    batch: int
    gift_type: str
    items: tuple[str, ...]
    store: StoreInfo
    on: dt.date
