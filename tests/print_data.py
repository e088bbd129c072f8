"""Printed codes for tests: print the entry's document as the office would, read its QR.

A printed code is only accepted while it is the latest printed copy of the entry's document
(the print log keeps its token), so tests that scan a code print the document first.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from mbfcare.domain.actors import Actor
from mbfcare.services import printing

_JOBS = {"receipt": "receipts", "survey": "surveys", "info_form": "info-forms",
         "invitation": "invitations"}


def printed_code(factory: sessionmaker[Session], kind: str, programme_id: int,
                 case_id: int) -> str:
    """Print the `kind` document (receipt, survey, info_form, invitation) of one entry and
    return the code its QR carries (`MBFC-…`)."""
    with tempfile.TemporaryDirectory() as folder:
        result = printing.print_documents(
            factory, _JOBS[kind], Path(folder) / f"{kind}.pdf", programme_id=programme_id,
            case_ids=[case_id], actor=Actor("Tester", "admin"))
    assert result.documents == 1, result
    return result.codes[0]
