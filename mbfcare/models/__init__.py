"""SQLAlchemy 2 ORM entities of MBF Care; importing this package registers every table."""

from mbfcare.models.base import Base
from mbfcare.models.care import CareCase, Classification, LeftOut
from mbfcare.models.importing import Exclusion, ImportRun
from mbfcare.models.programme import (
    Batch,
    GiftItem,
    GiftType,
    Programme,
    ProgrammeChange,
    ProgrammeGroup,
)
from mbfcare.models.subscriber import Charge, Subscriber

__all__ = [
    "Base",
    "Batch",
    "CareCase",
    "Charge",
    "Classification",
    "Exclusion",
    "GiftItem",
    "GiftType",
    "ImportRun",
    "LeftOut",
    "Programme",
    "ProgrammeChange",
    "ProgrammeGroup",
    "Subscriber",
]
