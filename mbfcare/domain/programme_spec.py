"""A programme's rules as plain data, read from and written to TOML."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mbfcare.domain.values import ValueProblem, parse_month

AGGREGATIONS = ("every_cycle", "average")
DELIVERIES = ("visit", "store")
# The document's words for the two ways a gift reaches the customer.
DELIVERY_WORDS = {"visit": "MBF đến tặng", "store": "KH đến cửa hàng nhận"}


class SpecProblem(ValueError):
    """A programme file that cannot be used; the message says where and what."""


@dataclass(frozen=True)
class GroupRule:
    """Nhóm N: the charge basis band, delivery and gift type."""

    number: int
    name: str
    lower: int | None
    lower_inclusive: bool
    upper: int | None
    upper_inclusive: bool
    delivery: str
    gift_type: int

    def contains(self, basis: int) -> bool:
        """Whether a charge basis falls in this group."""
        if self.lower is not None and (
            basis < self.lower or (basis == self.lower and not self.lower_inclusive)
        ):
            return False
        return (
            self.upper is None
            or basis < self.upper
            or (basis == self.upper and self.upper_inclusive)
        )


@dataclass(frozen=True)
class GiftItemSpec:
    """One item of a gift type."""

    code: str
    name: str


@dataclass(frozen=True)
class GiftTypeSpec:
    """Quà loại N and its items."""

    number: int
    name: str
    items: tuple[GiftItemSpec, ...]


@dataclass(frozen=True)
class BatchSpec:
    """Đợt N, its care month and the gifts planned per gift type number (absent: no limit)."""

    number: int
    care_year: int
    care_month: int
    gift_plan: dict[int, int] = field(default_factory=dict)


@dataclass(frozen=True)
class ProgrammeSpec:
    """Everything `programme create` needs."""

    name: str
    year: int
    region: str
    aggregation: str
    provinces: tuple[str, ...]
    tenure_bands: tuple[int, ...]
    groups: tuple[GroupRule, ...]
    gift_types: tuple[GiftTypeSpec, ...]
    batches: tuple[BatchSpec, ...]
    province: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _get(table: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if key not in table:
        raise SpecProblem(f"{where}: thiếu khóa '{key}'.")
    value = table[key]
    if isinstance(value, bool) and kind is int:
        raise SpecProblem(f"{where}: '{key}' phải là số.")
    if not isinstance(value, kind):
        raise SpecProblem(f"{where}: giá trị của '{key}' không đúng kiểu ({value!r}).")
    return value


def _opt_int(table: dict[str, Any], key: str, where: str) -> int | None:
    if key not in table:
        return None
    return int(_get(table, key, int, where))


def parse_programme_spec(data: dict[str, Any], source: str = "tệp chương trình") -> ProgrammeSpec:
    """Check and convert the TOML tables of a programme.

    Raises:
        SpecProblem: a key is missing or a value is wrong; the message names the place.
    """
    aggregation = str(data.get("aggregation", "every_cycle"))
    if aggregation not in AGGREGATIONS:
        raise SpecProblem(
            f"{source}: 'aggregation' phải là 'every_cycle' hoặc 'average', không phải "
            f"{aggregation!r}."
        )
    gift_types = []
    for i, raw in enumerate(data.get("gift_types", []), 1):
        where = f"{source}, gift_types #{i}"
        items = tuple(
            GiftItemSpec(str(_get(it, "code", str, where)), str(_get(it, "name", str, where)))
            for it in _get(raw, "items", list, where)
        )
        if not items:
            raise SpecProblem(f"{where}: loại quà phải có ít nhất một món quà (items).")
        gift_types.append(
            GiftTypeSpec(
                int(_get(raw, "number", int, where)),
                str(raw.get("name", f"Quà loại {raw['number']}")),
                items,
            )
        )
    type_numbers = {g.number for g in gift_types}
    codes = [item.code for g in gift_types for item in g.items]
    if len(codes) != len(set(codes)):
        raise SpecProblem(f"{source}: mã quà bị trùng ({', '.join(codes)}).")
    groups = []
    for i, raw in enumerate(data.get("groups", []), 1):
        where = f"{source}, groups #{i}"
        delivery = str(_get(raw, "delivery", str, where))
        if delivery not in DELIVERIES:
            raise SpecProblem(f"{where}: 'delivery' phải là 'visit' hoặc 'store'.")
        gift_type = int(_get(raw, "gift_type", int, where))
        if gift_type not in type_numbers:
            raise SpecProblem(f"{where}: không có loại quà số {gift_type} trong gift_types.")
        number = int(_get(raw, "number", int, where))
        lower, upper = _opt_int(raw, "lower", where), _opt_int(raw, "upper", where)
        if lower is None and upper is None:
            raise SpecProblem(f"{where}: nhóm phải có ít nhất một ngưỡng (lower hoặc upper).")
        groups.append(
            GroupRule(
                number=number,
                name=str(raw.get("name", f"Nhóm {number}")),
                lower=lower,
                lower_inclusive=bool(raw.get("lower_inclusive", True)),
                upper=upper,
                upper_inclusive=bool(raw.get("upper_inclusive", False)),
                delivery=delivery,
                gift_type=gift_type,
            )
        )
    if not groups:
        raise SpecProblem(f"{source}: chương trình phải có ít nhất một nhóm ([[groups]]).")
    batches = []
    for i, raw in enumerate(data.get("batches", []), 1):
        where = f"{source}, batches #{i}"
        try:
            year, month = parse_month(str(_get(raw, "care_month", str, where)))
        except ValueProblem as exc:
            raise SpecProblem(
                f"{where}: tháng chăm sóc phải viết MM/YYYY ({exc.value!r})."
            ) from exc
        plan = raw.get("gift_plan", {})
        if not isinstance(plan, dict) or not all(
            str(k).isdigit() and isinstance(v, int) and not isinstance(v, bool) and v >= 0
            for k, v in plan.items()
        ):
            raise SpecProblem(f"{where}: 'gift_plan' phải là bảng số loại quà = số lượng.")
        batches.append(BatchSpec(int(_get(raw, "number", int, where)), year, month,
                                 {int(k): int(v) for k, v in plan.items()}))
    if len({b.number for b in batches}) != len(batches):
        raise SpecProblem(f"{source}: số đợt bị trùng.")
    bands = tuple(int(b) for b in data.get("tenure_bands", [0, 2, 5, 10]))
    if list(bands) != sorted(set(bands)) or not bands or bands[0] != 0:
        raise SpecProblem(f"{source}: 'tenure_bands' phải tăng dần và bắt đầu bằng 0.")
    known = {
        "name",
        "year",
        "region",
        "province",
        "aggregation",
        "provinces",
        "tenure_bands",
        "groups",
        "gift_types",
        "batches",
    }
    return ProgrammeSpec(
        name=str(_get(data, "name", str, source)),
        year=int(_get(data, "year", int, source)),
        region=str(data.get("region", "")),
        province=str(data.get("province", "")),
        aggregation=aggregation,
        provinces=tuple(str(p) for p in data.get("provinces", [])),
        tenure_bands=bands,
        groups=tuple(sorted(groups, key=lambda g: g.number)),
        gift_types=tuple(sorted(gift_types, key=lambda g: g.number)),
        batches=tuple(sorted(batches, key=lambda b: b.number)),
        extra={k: v for k, v in data.items() if k not in known},
    )


def load_programme_spec(path: Path) -> ProgrammeSpec:
    """Read a programme TOML file.

    Raises:
        SpecProblem: unreadable file or wrong content.
    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except OSError as exc:
        raise SpecProblem(f"Không đọc được tệp {path}: {exc.strerror}.") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SpecProblem(f"Tệp {path.name} không phải TOML hợp lệ: {exc}.") from exc
    return parse_programme_spec(data, path.name)
