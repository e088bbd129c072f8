"""The audit viewer's service: filters, pages, the chain's state, the export."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy.orm import Session, sessionmaker

from mbfcare.domain.actors import Actor, PermissionProblem
from mbfcare.services import audit
from mbfcare.services import audit_review as ar
from mbfcare.services import data_protection as dp
from mbfcare.services.exporting import export_care_list
from mbfcare.uow import UnitOfWork
from tests.care_data import seed_listed
from tests.tamper import run_sql

ADMIN = Actor("Trần Quản Trị", "admin", username="quantri")
HEAD = Actor("Phạm Thu Hà", "head", district="Hồng Bàng", username="ha")


@pytest.fixture
def logged(factory: sessionmaker[Session], programme_id: int) -> sessionmaker[Session]:
    """A log with entries of several users, actions and programmes."""
    seed_listed(factory, programme_id)
    with UnitOfWork(factory, write=True) as uow:
        for i in range(7):
            audit.record(uow.session, user="Lan" if i % 2 else "Hà", action="record_step",
                         entity="care_case", entity_id=i, programme_id=programme_id,
                         summary=f"Gửi SMS – 0901 000 00{i}", after={"step": "sms"})
        audit.record(uow.session, user="Lan", action="record_profile", entity="profile",
                     entity_id=1, programme_id=None, summary="Thu thập thông tin – 0901000002",
                     after={"id_number": "031180001234"})
        uow.commit()
    return factory


def test_only_an_admin_reads_the_log(logged: sessionmaker[Session]) -> None:
    for call in (lambda: ar.entries_page(logged, HEAD, ar.AuditFilter()),
                 lambda: ar.count_entries(logged, HEAD, ar.AuditFilter()),
                 lambda: ar.chain_status(logged, HEAD),
                 lambda: ar.filter_choices(logged, HEAD)):
        with pytest.raises(PermissionProblem, match="quản lý người dùng"):
            call()


def test_filters(logged: sessionmaker[Session], programme_id: int) -> None:
    every = ar.entries_page(logged, ADMIN, ar.AuditFilter())
    assert [e.id for e in every] == sorted((e.id for e in every), reverse=True)
    assert ar.count_entries(logged, ADMIN, ar.AuditFilter()) == len(every) == 8
    assert ar.count_entries(logged, ADMIN, ar.AuditFilter(user="Lan")) == 4
    assert ar.count_entries(logged, ADMIN, ar.AuditFilter(action="record_profile")) == 1
    assert ar.count_entries(logged, ADMIN, ar.AuditFilter(programme_id=programme_id)) == 7
    assert ar.count_entries(logged, ADMIN, ar.AuditFilter(text="gửi sms")) == 7
    assert ar.count_entries(logged, ADMIN, ar.AuditFilter(text="100%")) == 0
    today = dt.datetime.now(dt.UTC).astimezone(dt.timezone(dt.timedelta(hours=7))).date()
    assert ar.count_entries(logged, ADMIN, ar.AuditFilter(date_from=today,
                                                         date_to=today)) == 8
    assert ar.count_entries(logged, ADMIN, ar.AuditFilter(
        date_to=today - dt.timedelta(days=1))) == 0
    choices = ar.filter_choices(logged, ADMIN)
    assert choices.users == ("Hà", "Lan")
    assert choices.actions == ("record_profile", "record_step")


def test_pages_follow_on_by_id(logged: sessionmaker[Session]) -> None:
    first = ar.entries_page(logged, ADMIN, ar.AuditFilter(), limit=3)
    second = ar.entries_page(logged, ADMIN, ar.AuditFilter(), before_id=first[-1].id, limit=3)
    assert len(first) == len(second) == 3
    assert second[0].id == first[-1].id - 1


def test_numbers_in_the_log_are_stored_masked(logged: sessionmaker[Session]) -> None:
    profile = ar.entries_page(logged, ADMIN, ar.AuditFilter(action="record_profile"))[0]
    assert profile.summary == "Thu thập thông tin – 0901 *** 002"
    assert "0311******34" in profile.after and "031180001234" not in profile.after
    dp.set_office_setting(logged, ADMIN, "mask_personal", False)
    profile = ar.entries_page(logged, ADMIN, ar.AuditFilter(action="record_profile"))[0]
    # Stored masked: the append-only log is never purged, so no setting shows it whole.
    assert profile.summary == "Thu thập thông tin – 0901 *** 002"


def test_chain_status_names_the_first_bad_line(logged: sessionmaker[Session],
                                               db_url: str) -> None:
    status = ar.chain_status(logged, ADMIN)
    assert status.ok and status.text == f"Chuỗi nhật ký nguyên vẹn đến dòng {status.last_id}."
    target = status.last_id - 3
    run_sql(db_url, f"UPDATE audit_log SET summary = 'sửa lén' WHERE id = {target}")
    run_sql(db_url, f"UPDATE audit_log SET reason = 'ai đó' WHERE id = {target + 1}")
    broken = ar.chain_status(logged, ADMIN)
    assert not broken.ok and broken.first_bad_id == target
    assert broken.text == (f"Chuỗi nhật ký bị phá: Nhật ký dòng {target}: nội dung đã bị sửa. "
                           "(và 1 chỗ khác)")


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_export_is_filtered_masked_and_itself_audited(logged: sessionmaker[Session],
                                                      tmp_path: Path, suffix: str) -> None:
    with UnitOfWork(logged, write=True) as uow:
        audit.record(uow.session, user="Lan", action="record_step", entity="care_case",
                     entity_id=9, summary="=HYPERLINK(\"http://x\")")
        uow.commit()
    out = tmp_path / f"nhat_ky{suffix}"
    result = ar.export_audit(logged, ADMIN, ar.AuditFilter(user="Lan"), out)
    assert result.rows == 5
    if suffix == ".csv":
        with out.open(encoding="utf-8-sig", newline="") as f:
            rows = list(csv.reader(f))
    else:
        rows = [[("" if c is None else str(c)) for c in r]
                for r in openpyxl.load_workbook(out).active.iter_rows(values_only=True)]
    assert rows[0] == list(ar.EXPORT_HEADERS)
    assert {r[2] for r in rows[1:]} == {"Lan"}
    summaries = [r[7] for r in rows[1:]]
    assert "'=HYPERLINK(\"http://x\")" in summaries  # stays text
    assert "Thu thập thông tin – 0901 *** 002" in summaries
    assert not any("0901000002" in cell for row in rows for cell in row)
    entry = ar.entries_page(logged, ADMIN, ar.AuditFilter(), limit=1)[0]
    assert (entry.action, entry.entity) == ("export", "file")
    assert entry.summary == f"Nhật ký thao tác: nhat_ky{suffix}, 5 dòng"


def test_export_of_a_care_list_appears_in_the_viewer(logged: sessionmaker[Session],
                                                     tmp_path: Path) -> None:
    export_care_list(logged, tmp_path / "ds.csv", actor=HEAD)
    found = ar.entries_page(logged, ADMIN, ar.AuditFilter(action="export", user=HEAD.name))
    assert len(found) == 1
    assert found[0].summary == "Danh sách chăm sóc: ds.csv, 1 dòng (quận/huyện Hồng Bàng)"
