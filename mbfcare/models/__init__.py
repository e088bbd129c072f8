"""SQLAlchemy 2 ORM entities of MBF Care; importing this package registers every table."""

from mbfcare.models.base import Base
from mbfcare.models.importing import Exclusion, ImportRun
from mbfcare.models.programme import Batch, GiftItem, GiftType, Programme, ProgrammeGroup
from mbfcare.models.subscriber import Charge, Subscriber

__all__ = [
    "Base",
    "Batch",
    "Charge",
    "Exclusion",
    "GiftItem",
    "GiftType",
    "ImportRun",
    "Programme",
    "ProgrammeGroup",
    "Subscriber",
]
