"""SQLAlchemy 2 ORM entities of MBF Care; importing this package registers every table."""

from mbfcare.models.accounts import OfficeSetting, UserAccount
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
from mbfcare.models.work import (
    AuditEntry,
    CareStep,
    Handover,
    PrintedDocument,
    PrintRun,
    ProfileCollection,
    StockBalance,
    StockLocation,
    StockMovement,
    SurveyForm,
    SurveyResponse,
)

__all__ = [
    "AuditEntry",
    "Base",
    "Batch",
    "CareCase",
    "CareStep",
    "Charge",
    "Classification",
    "Exclusion",
    "GiftItem",
    "GiftType",
    "Handover",
    "ImportRun",
    "LeftOut",
    "OfficeSetting",
    "PrintRun",
    "PrintedDocument",
    "ProfileCollection",
    "Programme",
    "ProgrammeChange",
    "ProgrammeGroup",
    "StockBalance",
    "StockLocation",
    "StockMovement",
    "Subscriber",
    "SurveyForm",
    "SurveyResponse",
    "UserAccount",
]
