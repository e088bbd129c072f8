"""The `mbfcare` command: the same services as the window, for scripts and IT staff."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from mbfcare import __version__
from mbfcare.errors import MbfCareError, RuleError, UsageError

logger = logging.getLogger(__name__)

EXIT_OK, EXIT_UNEXPECTED, EXIT_USAGE = 0, 1, 2


class TerminalProgress:
    """A progress bar on standard error, only when it is a terminal."""

    def __init__(self, stream: TextIO, label: str) -> None:
        self._stream = stream
        self._label = label
        self._enabled = stream.isatty()
        self._last = 0.0
        self._start = time.monotonic()

    def report(self, done: int, total: int, text: str = "") -> None:
        """Redraw at most ten times a second."""
        now = time.monotonic()
        if not self._enabled or (now - self._last < 0.1 and done < total):
            return
        self._last = now
        rate = done / max(now - self._start, 1e-6)
        if total:
            share = min(done / total, 1.0)
            bar = "█" * int(share * 30) + "░" * (30 - int(share * 30))
            line = f"\r{self._label} {bar} {share:4.0%} {done:,}/{total:,} ({rate:,.0f}/s)"
        else:
            line = f"\r{self._label} {done:,} ({rate:,.0f}/s)"
        self._stream.write(line.replace(",", "."))
        self._stream.flush()

    def cancelled(self) -> bool:
        """The terminal cancels with Ctrl+C, which rolls the transaction back."""
        return False

    def close(self) -> None:
        """End the progress line."""
        if self._enabled:
            self._stream.write("\n")
            self._stream.flush()


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:
        self.print_usage(sys.stderr)
        raise UsageError(f"Sai cú pháp lệnh: {message}. Xem: {self.prog} --help")


def _common(top: bool) -> argparse.ArgumentParser:
    # Sub-commands repeat the global options with SUPPRESS defaults, so that an option given
    # before the sub-command is not reset by the sub-command's own default.
    common = argparse.ArgumentParser(add_help=False)
    kw: dict[str, Any] = {} if top else {"default": argparse.SUPPRESS}
    common.add_argument("--db", help="SQLAlchemy URL (mặc định: MBFCARE_DB hoặc tệp SQLite "
                                     "trong thư mục dữ liệu)", **kw)
    common.add_argument("--json", action="store_true", help="in kết quả dạng JSON", **kw)
    common.add_argument("--lang", choices=("vi", "en"), help="ngôn ngữ (vi, en)", **kw)
    common.add_argument("--debug", action="store_true", help="in chi tiết lỗi", **kw)
    common.add_argument("--user", help="đăng nhập bằng tên này (hỏi mật khẩu; tập lệnh: "
                                       "MBFCARE_USER và MBFCARE_PASSWORD)", **kw)
    return common


def _sms_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    # `sms --batch K --out FILE` (cli.md) has no sub-command; `opt-out` and `templates` are
    # optional sub-commands after it, whose own options default to SUPPRESS so that they do
    # not reset what was given before them.
    sms = sub.add_parser("sms", parents=[common],
                         help="danh sách SMS của một đợt (thông báo nhóm 1, mời nhóm 2)")
    sms.add_argument("--programme", type=int)
    sms.add_argument("--batch", type=int, help="đợt")
    sms.add_argument("--out", type=Path, help="tệp .csv hoặc .xlsx cho tổng đài SMS")
    sms.add_argument("--no-diacritics", action="store_true",
                     help="tin không dấu (GSM-7: 160 ký tự/tin thay vì 70)")
    sms.add_argument("--group", type=int, help="chỉ một nhóm")
    sms.add_argument("--deadline", help="hạn nhận quà YYYY-MM-DD (mặc định: hôm nay + số "
                                        "ngày trong mẫu tin)")
    sms.add_argument("--unsent-only", action="store_true",
                     help="chỉ KH chưa ghi bước gửi SMS")
    sms.add_argument("--mark-sent", action="store_true",
                     help="ghi bước 1 (đã gửi SMS) cho các KH của danh sách")
    sms.add_argument("--at", help="ngày gửi SMS YYYY-MM-DD (mặc định: hôm nay)")
    ssub: Any = sms.add_subparsers(dest="action", required=False, parser_class=_Parser)
    suppress: dict[str, Any] = {"default": argparse.SUPPRESS}
    opt_out = ssub.add_parser("opt-out", parents=[common],
                              help="KH yêu cầu không nhận SMS (--undo: nhận lại)")
    opt_out.add_argument("msisdn")
    opt_out.add_argument("--undo", action="store_true", help="KH nhận SMS trở lại")
    templates = ssub.add_parser("templates", parents=[common],
                                help="xem hoặc sửa mẫu tin nhắn của chương trình")
    templates.add_argument("--programme", type=int, **suppress)
    templates.add_argument("--notice", help="mẫu thông báo nhóm 1 (MBF đến tặng)", **suppress)
    templates.add_argument("--invitation", help="mẫu mời nhóm 2 đến cửa hàng nhận quà",
                           **suppress)
    templates.add_argument("--deadline-days", type=int,
                           help="hạn nhận quà: số ngày sau ngày lập danh sách", **suppress)
    templates.add_argument("--reset", action="store_true", help="trở về mẫu mặc định",
                           **suppress)


def _print_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    printing = sub.add_parser("print", parents=[common],
                              help="in biên bản, danh sách ký nhận, phiếu, giấy mời (PDF)")
    printing.add_argument("kind", choices=("receipts", "signature-list", "surveys",
                                           "info-forms", "invitations"),
                          help="receipts (biên bản giao nhận), signature-list (danh sách ký "
                               "nhận), surveys (phiếu khảo sát), info-forms (phiếu thu thập "
                               "thông tin), invitations (giấy mời nhận quà)")
    printing.add_argument("--programme", type=int)
    printing.add_argument("--batch", type=int, required=True, help="đợt")
    printing.add_argument("--group", type=int, choices=(1, 2))
    printing.add_argument("--district", help="quận/huyện (không cần dấu)")
    printing.add_argument("--store", help="cửa hàng (không cần dấu)")
    printing.add_argument("--blank", type=int, default=0,
                          help="thêm số phiếu trống (surveys, info-forms)")
    printing.add_argument("--out", type=Path, required=True, help="tệp .pdf")


def _audit_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    # `--user` here filters the log; the person running the command signs in with
    # MBFCARE_USER (or --user before the sub-command).
    # A private copy of the common options: "resolve" edits the actions it replaces, which
    # must not change the options every other sub-command shares.
    audit = sub.add_parser("audit", parents=[_common(top=False)], conflict_handler="resolve",
                           help="xem hoặc xuất nhật ký thao tác (quản trị)")
    audit.add_argument("--from", dest="date_from", help="từ ngày YYYY-MM-DD")
    audit.add_argument("--to", dest="date_to", help="đến ngày YYYY-MM-DD")
    audit.add_argument("--user", dest="filter_user", help="chỉ thao tác của người này")
    audit.add_argument("--action", help="chỉ loại thao tác này (ví dụ export, print)")
    audit.add_argument("--programme", type=int)
    audit.add_argument("--text", help="có chữ này trong nội dung")
    audit.add_argument("--limit", type=int, default=50,
                       help="số dòng in ra khi không có --out (mặc định 50)")
    audit.add_argument("--out", type=Path, help="tệp .xlsx hoặc .csv")


def _report_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    report = sub.add_parser("report", parents=[common],
                            help="báo cáo tiến độ, khảo sát, quyết toán quà (PDF hoặc Excel)")
    report.add_argument("kind", choices=("progress", "survey", "stock"),
                        help="progress (tiến độ theo đợt, nhóm, quận/huyện, cửa hàng), survey "
                             "(kết quả khảo sát), stock (quyết toán quà theo món quà và nơi)")
    report.add_argument("--programme", type=int)
    report.add_argument("--batch", type=int, help="chỉ một đợt")
    report.add_argument("--out", type=Path, required=True,
                        help="tệp .pdf (họp) hoặc .xlsx (phân tích)")


def _parser() -> argparse.ArgumentParser:
    common = _common(top=False)
    parser = _Parser(prog="mbfcare", description="MBF Care – chăm sóc khách hàng MobiFone KV5",
                     parents=[_common(top=True)])
    parser.add_argument("--version", action="version", version=f"mbfcare {__version__}")
    sub: Any = parser.add_subparsers(dest="command", parser_class=_Parser)

    sub.add_parser("gui", parents=[common], help="mở cửa sổ chương trình")

    programme = sub.add_parser("programme", parents=[common], help="chương trình CSKH")
    psub: Any = programme.add_subparsers(dest="action", required=True, parser_class=_Parser)
    create = psub.add_parser("create", parents=[common], help="tạo chương trình")
    create.add_argument("--config", type=Path, help="tệp TOML mô tả chương trình")
    psub.add_parser("list", parents=[common], help="liệt kê chương trình")
    close = psub.add_parser("close", parents=[common],
                            help="đóng chương trình (xong danh sách; sau đó có thể xóa dữ liệu "
                                 "cá nhân)")
    close.add_argument("--programme", type=int)
    close.add_argument("--yes", action="store_true", help="xác nhận, không hỏi lại")
    purge = psub.add_parser("purge", parents=[common],
                            help="xóa dữ liệu cá nhân của chương trình đã đóng (giữ số liệu)")
    purge.add_argument("--programme", type=int)
    purge.add_argument("--yes", action="store_true", help="xác nhận, không hỏi lại")

    imp = sub.add_parser("import", parents=[common], help="nhập dữ liệu")
    isub: Any = imp.add_subparsers(dest="action", required=True, parser_class=_Parser)
    subs = isub.add_parser("subscribers", parents=[common], help="nhập danh sách thuê bao")
    subs.add_argument("file", type=Path)
    subs.add_argument("--programme", type=int)
    subs.add_argument("--batch", type=int)
    subs.add_argument("--care-month", help="tháng chăm sóc MM/YYYY")
    subs.add_argument("--sheet")
    subs.add_argument("--strict", action="store_true",
                      help="từ chối cả tệp nếu có một dòng bị từ chối")
    subs.add_argument("--dry-run", action="store_true", help="chỉ kiểm tra, không lưu")
    exc = isub.add_parser("exclusions", parents=[common],
                          help="nhập danh sách TB đang tham gia chương trình khác")
    exc.add_argument("file", type=Path)
    exc.add_argument("--programme", type=int)
    exc.add_argument("--sheet")
    exc.add_argument("--dry-run", action="store_true", help="chỉ kiểm tra, không lưu")
    offers = isub.add_parser("offers", parents=[common],
                             help="nhập gói cước ưu đãi từng thuê bao có thể tham gia")
    offers.add_argument("file", type=Path)
    offers.add_argument("--programme", type=int)
    offers.add_argument("--sheet")
    offers.add_argument("--dry-run", action="store_true", help="chỉ kiểm tra, không lưu")

    psub.add_parser("check", parents=[common], help="kiểm tra khoảng trống/chồng lấn giữa các nhóm")

    cls = sub.add_parser("classify", parents=[common], help="xếp danh sách chăm sóc của một đợt")
    cls.add_argument("--programme", type=int)
    cls.add_argument("--batch", type=int, required=True)
    cls.add_argument("--care-month", help="tháng chăm sóc MM/YYYY (đặt cho đợt trước khi xếp)")
    cls.add_argument("--dry-run", action="store_true", help="chỉ xem số lượng, không lưu")
    cls.add_argument("--plan", action="append", default=[], metavar="LOẠI=SỐ",
                     help="số quà dự kiến của đợt cho một loại quà, ví dụ --plan 2=1200")

    exp = sub.add_parser("explain", parents=[common], help="vì sao thuê bao có/không có tên")
    exp.add_argument("msisdn")
    exp.add_argument("--programme", type=int)

    dec = sub.add_parser("decide", parents=[common],
                         help="quyết định nhóm cho thuê bao chờ quyết định")
    dec.add_argument("msisdn")
    dec.add_argument("--group", required=True, help="số nhóm, hoặc 'none' để không chọn")
    dec.add_argument("--note", required=True, help="lý do quyết định")
    dec.add_argument("--programme", type=int)

    export = sub.add_parser("export", parents=[common], help="xuất tệp")
    esub: Any = export.add_subparsers(dest="action", required=True, parser_class=_Parser)
    regional = esub.add_parser("regional", parents=[common],
                               help="tệp Excel gửi MBF KV5 (regional-export.md)")
    regional.add_argument("--out", type=Path, required=True, help="tệp .xlsx")
    regional.add_argument("--programme", type=int)

    consolidate = sub.add_parser("consolidate", parents=[common],
                                 help="gộp tệp gửi MBF KV5 của các tỉnh (tại MBF KV5)")
    consolidate.add_argument("files", nargs="+", type=Path, metavar="FILE",
                             help="tệp .xlsx của các tỉnh (mbfcare export regional)")
    consolidate.add_argument("--out", type=Path, required=True, help="tệp .xlsx kết quả")

    record = sub.add_parser("record", parents=[common], help="ghi kết quả chăm sóc")
    rsub: Any = record.add_subparsers(dest="action", required=True, parser_class=_Parser)
    hand = rsub.add_parser("handover", parents=[common], help="trao quà (hoặc ghi nợ quà)")
    hand.add_argument("msisdn")
    hand.add_argument("--programme", type=int)
    hand.add_argument("--item", help="mã món quà (balo-keo, hop-thuc-pham, o-2-khuc)")
    hand.add_argument("--location", help="nơi lấy quà (mặc định: cửa hàng của KH hoặc Kho)")
    hand.add_argument("--by", default="", help="người trao quà")
    hand.add_argument("--at", help="ngày trao YYYY-MM-DD (mặc định: bây giờ)")
    hand.add_argument("--owed", action="store_true", help="ghi nợ quà (cửa hàng hết quà)")
    hand.add_argument("--promised", help="ngày hẹn trao quà nợ YYYY-MM-DD")
    hand.add_argument("--note", default="", help="ghi chú")
    owed = rsub.add_parser("give-owed", parents=[common], help="trao món quà đang nợ")
    owed.add_argument("msisdn")
    owed.add_argument("--programme", type=int)
    owed.add_argument("--item")
    owed.add_argument("--by", default="")
    owed.add_argument("--at")
    step = rsub.add_parser("step", parents=[common], help="ghi một bước đã làm")
    step.add_argument("msisdn")
    step.add_argument("--programme", type=int)
    step.add_argument("--step", required=True,
                      choices=("sms", "data_check", "package_advice", "questions", "survey"))
    step.add_argument("--value", help="giá trị (gói cước KH chọn, nội dung…)")
    step.add_argument("--by", default="", help="người làm")
    step.add_argument("--at", help="ngày làm YYYY-MM-DD (mặc định: hôm nay)")
    outcome = rsub.add_parser("outcome", parents=[common],
                              help="đóng hồ sơ khi không phục vụ được KH")
    outcome.add_argument("msisdn")
    outcome.add_argument("--programme", type=int)
    outcome.add_argument("--outcome", required=True,
                         choices=("unreachable", "refused", "moved", "other"))
    outcome.add_argument("--note", default="")
    outcome.add_argument("--at")
    undo = rsub.add_parser("undo", parents=[common],
                           help="hủy một bước, lần trao quà hoặc kết quả (cần lý do)")
    undo.add_argument("msisdn")
    undo.add_argument("--programme", type=int)
    undo.add_argument("--what", required=True,
                      choices=("sms", "data_check", "handover", "package_advice", "questions",
                               "survey", "outcome"))
    undo.add_argument("--reason", required=True)
    bulk = rsub.add_parser("bulk", parents=[common],
                           help="ghi kết quả hàng loạt từ danh sách quận/huyện gửi lại")
    bulk.add_argument("file", type=Path)
    bulk.add_argument("--programme", type=int)
    bulk.add_argument("--sheet")
    bulk.add_argument("--dry-run", action="store_true", help="chỉ kiểm tra, không lưu")

    stock = sub.add_parser("stock", parents=[common], help="kho quà")
    ssub: Any = stock.add_subparsers(dest="action", required=True, parser_class=_Parser)
    for name, words in (("receive", "nhập quà vào kho"), ("transfer", "chuyển quà"),
                        ("return", "nhận lại quà trả về"), ("write-off", "xuất hủy quà hỏng")):
        move = ssub.add_parser(name, parents=[common], help=words)
        move.add_argument("--item", required=True, help="mã món quà")
        move.add_argument("--qty", type=int, required=True, help="số lượng")
        move.add_argument("--location", help="nơi (mặc định: Kho)")
        move.add_argument("--reason", help="lý do")
        move.add_argument("--programme", type=int)
        if name == "transfer":
            move.add_argument("--to", required=True, help="nơi nhận")
    show = ssub.add_parser("show", parents=[common], help="tồn kho theo món quà và nơi")
    show.add_argument("--programme", type=int)
    ledger = ssub.add_parser("ledger", parents=[common], help="sổ kho")
    ledger.add_argument("--programme", type=int)
    ledger.add_argument("--item")
    ledger.add_argument("--location")

    care_list = sub.add_parser("list", parents=[common], help="xuất danh sách chăm sóc")
    care_list.add_argument("--out", type=Path, required=True, help="tệp .xlsx hoặc .csv")
    care_list.add_argument("--programme", type=int)
    care_list.add_argument("--batch", type=int)
    care_list.add_argument("--group", type=int, choices=(1, 2))
    care_list.add_argument("--district", help="quận/huyện (không cần dấu)")
    care_list.add_argument("--store", help="cửa hàng (không cần dấu)")

    _sms_parser(sub, common)

    survey = sub.add_parser("survey", parents=[common], help="phiếu khảo sát ý kiến khách hàng")
    vsub: Any = survey.add_subparsers(dest="action", required=True, parser_class=_Parser)
    vshow = vsub.add_parser("show", parents=[common], help="in phiếu khảo sát của chương trình")
    vshow.add_argument("--programme", type=int)
    vform = vsub.add_parser("set-form", parents=[common],
                            help="thay phiếu khảo sát của chương trình bằng tệp TOML")
    vform.add_argument("file", type=Path, help="tệp .toml (mẫu: resources/surveys/default.toml)")
    vform.add_argument("--programme", type=int)
    venter = vsub.add_parser("enter", parents=[common], help="nhập câu trả lời của một phiếu")
    venter.add_argument("msisdn", help="số thuê bao hoặc mã in trên phiếu (MBFC-S-…)")
    venter.add_argument("--programme", type=int)
    venter.add_argument("--answer", action="append", default=[], metavar="KHÓA=GIÁ_TRỊ",
                        help="câu trả lời, ví dụ --answer overall=4 --answer 'services=1 3'")
    venter.add_argument("--at", help="ngày khảo sát YYYY-MM-DD (mặc định: ngày gặp KH)")
    venter.add_argument("--reason", default="", help="lý do khi sửa phiếu đã nhập")
    vexp = vsub.add_parser("export", parents=[common], help="xuất câu trả lời để cập nhật iCRM")
    vexp.add_argument("--out", type=Path, required=True, help="tệp .xlsx hoặc .csv")
    vexp.add_argument("--programme", type=int)
    vexp.add_argument("--batch", type=int)
    vexp.add_argument("--new-only", action="store_true", help="chỉ các phiếu chưa xuất")

    profile = sub.add_parser("profile", parents=[common],
                             help="chuẩn hóa thông tin (phiếu thu thập thông tin)")
    prsub: Any = profile.add_subparsers(dest="action", required=True, parser_class=_Parser)
    collect = prsub.add_parser("record", parents=[common], help="ghi thông tin đã thu thập")
    collect.add_argument("msisdn")
    collect.add_argument("--programme", type=int)
    collect.add_argument("--name", required=True, help="họ tên")
    collect.add_argument("--id", required=True, help="số CCCD (12 số) hoặc CMND (9 số)")
    collect.add_argument("--birth", required=True, help="ngày sinh dd/mm/yyyy")
    collect.add_argument("--address", required=True, help="địa chỉ")
    collect.add_argument("--at", help="ngày thu thập YYYY-MM-DD (mặc định: hôm nay)")
    collect.add_argument("--by", default="", help="người thu thập")
    collect.add_argument("--reason", help="lý do khi sửa thông tin đã thu thập")
    pexp = prsub.add_parser("export", parents=[common], help="xuất tệp cập nhật iCRM")
    pexp.add_argument("--out", type=Path, required=True, help="tệp .xlsx hoặc .csv")
    pexp.add_argument("--programme", type=int)
    pexp.add_argument("--new-only", action="store_true",
                      help="chỉ các hồ sơ chưa xuất (hoặc đã sửa sau lần xuất trước)")
    _print_parser(sub, common)
    _report_parser(sub, common)
    backup = sub.add_parser("backup", parents=[common],
                            help="sao lưu cơ sở dữ liệu (được cả khi đang có người dùng; "
                                 "PostgreSQL: pg_dump)")
    backup.add_argument("--out", type=Path,
                        help="tệp sao lưu (mặc định: thư mục sao lưu trong Cài đặt)")
    restore = sub.add_parser("restore", parents=[common],
                             help="khôi phục cơ sở dữ liệu SQLite từ bản sao lưu (không có "
                                  "FILE: liệt kê các bản sao lưu)")
    restore.add_argument("file", type=Path, nargs="?",
                         help="tệp sao lưu (đường dẫn, hoặc tên tệp trong thư mục sao lưu)")
    restore.add_argument("--latest", action="store_true", help="khôi phục bản mới nhất")
    _audit_parser(sub, common)
    sub.add_parser("check", parents=[common],
                   help="kiểm tra cơ sở dữ liệu: tệp, nhật ký, kho quà, các bước (lỗi: mã 4)")
    _user_parser(sub, common)
    return parser


def _user_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    from mbfcare.domain.actors import ROLES

    user = sub.add_parser("user", parents=[common],
                          help="người dùng và vai trò (quản trị); đổi mật khẩu của mình")
    usub: Any = user.add_subparsers(dest="action", required=True, parser_class=_Parser)
    add = usub.add_parser("add", parents=[common],
                          help="tạo người dùng (chưa có ai: tạo quản trị đầu tiên, --role admin)."
                               " Mật khẩu: MBFCARE_NEW_PASSWORD hoặc nhập khi được hỏi")
    add.add_argument("username", help="tên đăng nhập")
    add.add_argument("--name", required=True, help="họ tên")
    add.add_argument("--role", required=True, choices=tuple(ROLES),
                     help="admin (quản trị, Phòng CSKH), head (trưởng MF quận/huyện), "
                          "clerk (giao dịch viên), viewer (chỉ xem báo cáo)")
    add.add_argument("--district", help="quận/huyện phụ trách (head)")
    add.add_argument("--store", help="cửa hàng làm việc (clerk)")
    usub.add_parser("list", parents=[common], help="liệt kê người dùng")
    usub.add_parser("passwd", parents=[common],
                    help="đổi mật khẩu của mình (mới: MBFCARE_NEW_PASSWORD hoặc nhập khi được "
                         "hỏi)")
    for name, words in (("disable", "khóa tài khoản (không đăng nhập được nữa)"),
                        ("enable", "mở lại tài khoản"),
                        ("reset", "đặt mật khẩu mới cho người dùng (MBFCARE_NEW_PASSWORD hoặc "
                                  "nhập khi được hỏi)")):
        one = usub.add_parser(name, parents=[common], help=words)
        one.add_argument("username", help="tên đăng nhập")


def _open(args: argparse.Namespace) -> Any:
    from mbfcare.db import open_database

    # One engine per command: the sign-in and the command share it.
    factory = getattr(args, "_factory", None)
    if factory is None:
        _recover(args.db)
        _, factory = open_database(args.db)
        args._factory = factory
    return factory


def _recover(db: str | None) -> None:
    """Quick-check the SQLite file before opening it; a damaged one is replaced by its newest
    sound backup (said on standard error), or the command stops with where the file is."""
    from mbfcare import paths
    from mbfcare.errors import StorageError
    from mbfcare.services.maintenance import recover_if_damaged

    report = recover_if_damaged(db or paths.default_db_url())
    if report is None:
        return
    if report.restored is None:
        raise StorageError(report.text)
    print(f"Chú ý: {report.text}", file=sys.stderr)


def _user(args: argparse.Namespace) -> str:
    actor = getattr(args, "_actor", None)
    if actor is not None:
        return str(actor.name)
    return args.user or os.environ.get("MBFCARE_USER") or os.environ.get("USERNAME") or \
        os.environ.get("USER") or ""


SIGN_IN_HELP = ("Cần đăng nhập: đặt MBFCARE_USER và MBFCARE_PASSWORD (cho tập lệnh), hoặc "
                "thêm --user TÊN để nhập mật khẩu.")


def _password(prompt: str, env: str) -> str | None:
    """A password from the environment (scripts) or typed at the terminal, else None."""
    given = os.environ.get(env)
    if given is not None:
        return given
    if sys.stdin is not None and sys.stdin.isatty():
        import getpass

        return getpass.getpass(prompt)
    return None


def _sign_in(args: argparse.Namespace) -> Any:
    """Who runs the command: the local administrator while no account exists, else a
    signed-in account (MBFCARE_USER + MBFCARE_PASSWORD, or --user and a typed password)."""
    from mbfcare.domain.actors import Actor
    from mbfcare.services import accounts

    factory = _open(args)
    if not accounts.has_accounts(factory):
        local = accounts.local_actor()
        return Actor(_user(args) or local.name, "admin")
    username = args.user or os.environ.get("MBFCARE_USER")
    if not username:
        raise RuleError(SIGN_IN_HELP)
    password = _password(f"Mật khẩu của {username}: ", "MBFCARE_PASSWORD")
    if password is None:
        raise RuleError(SIGN_IN_HELP)
    return accounts.sign_in(factory, username, password)


def _cmd_programme(args: argparse.Namespace, out: TextIO) -> dict[str, Any]:
    from mbfcare.domain.programme_spec import SpecProblem, load_programme_spec
    from mbfcare.services import programmes

    factory = _open(args)
    if args.action == "create":
        try:
            spec = load_programme_spec(args.config) if args.config else \
                programmes.default_programme_spec()
        except SpecProblem as exc:
            raise UsageError(str(exc)) from exc
        pid = programmes.create_programme(factory, spec, actor=_actor(args))
        return {"programme_id": pid, "_text": f"Đã tạo chương trình số {pid}: {spec.name}."}
    if args.action in ("close", "purge"):
        return _programme_close_purge(args, factory)
    if args.action == "check":
        from mbfcare.services.classification import rule_check

        problems = rule_check(factory, getattr(args, "programme", None))
        return {"ok": not problems, "problems": problems,
                "_text": "\n".join(problems) or "Các nhóm không có khoảng trống hay chồng lấn."}
    items = programmes.list_programmes(factory)
    lines = [f"{p.id}\t{p.name} ({p.year}) – đợt: " +
             ", ".join(f"{b.number} ({b.care_month_text})" for b in p.batches) for p in items]
    return {
        "programmes": [{"id": p.id, "name": p.name, "year": p.year,
                        "batches": [{"number": b.number, "care_month": b.care_month_text}
                                    for b in p.batches]} for p in items],
        "_text": "\n".join(lines) or "Chưa có chương trình nào.",
    }


def _cmd_import_offers(args: argparse.Namespace) -> dict[str, Any]:
    from mbfcare.services import profiles

    result = profiles.import_offers(_open(args), args.file, args.programme, sheet=args.sheet,
                                    dry_run=args.dry_run, actor=_actor(args))
    lines = [f"{result.file}" + (f", sheet '{result.sheet}'" if result.sheet else "") +
             f", tiêu đề ở dòng {result.header_row}.", result.text]
    if result.rejects_file:
        lines.append(f"Các dòng bị từ chối và lý do: {result.rejects_file}")
    return {**result.to_json(), "_text": "\n".join(lines)}


def _cmd_import(args: argparse.Namespace, out: TextIO) -> dict[str, Any]:
    from mbfcare.services import importing

    if args.action == "offers":
        return _cmd_import_offers(args)
    factory = _open(args)
    progress = TerminalProgress(sys.stderr, "Đang nhập") if not args.json else None
    try:
        if args.action == "subscribers":
            result = importing.import_subscribers(
                factory, args.file, programme_id=args.programme, batch=args.batch,
                care_month=args.care_month, sheet=args.sheet, strict=args.strict,
                dry_run=args.dry_run, actor=_actor(args), progress=progress)
        else:
            result = importing.import_exclusions(
                factory, args.file, programme_id=args.programme, sheet=args.sheet,
                dry_run=args.dry_run, actor=_actor(args), progress=progress)
    finally:
        if progress is not None:
            progress.close()
    data = result.to_json()
    lines = [
        ("Kiểm tra (chưa lưu) " if result.dry_run else "Đã nhập ") +
        f"{result.file}" + (f", sheet '{result.sheet}'" if result.sheet else "") +
        f", tiêu đề ở dòng {result.header_row}.",
        f"Số dòng đọc: {result.rows_read:,} · mới: {result.imported:,} · cập nhật: "
        f"{result.updated:,} · không đổi: {result.unchanged:,} · từ chối: {result.rejected:,} "
        f"(trùng: {result.duplicates:,}).".replace(",", "."),
    ]
    if result.cycles:
        lines.append("Chu kỳ cước: " + ", ".join(result.cycles))
    if result.rejects_file:
        lines.append(f"Các dòng bị từ chối và lý do: {result.rejects_file}")
    data["_text"] = "\n".join(lines)
    return data


def _n(number: int) -> str:
    """1234567 -> 1.234.567."""
    return f"{number:,}".replace(",", ".")


def _cmd_classify(args: argparse.Namespace, out: TextIO) -> dict[str, Any]:
    from mbfcare.services import classification

    plan: dict[int, int] = {}
    for item in args.plan:
        kind, _, qty = item.partition("=")
        if not (kind.strip().isdigit() and qty.strip().isdigit()):
            raise UsageError(f"--plan cần dạng LOẠI=SỐ, ví dụ 2=1200 (không phải '{item}').")
        plan[int(kind)] = int(qty)
    result = classification.classify_batch(
        _open(args), programme_id=args.programme, batch=args.batch, care_month=args.care_month,
        dry_run=args.dry_run, plan=plan or None, actor=_actor(args))
    data = result.to_json()
    groups = " · ".join(f"nhóm {n}: {_n(c)}" for n, c in sorted(result.groups.items()))
    reasons = ", ".join(f"{classification.REASONS.get(k, k)}: {_n(v)}"
                        for k, v in result.not_eligible.items())
    lines = [
        ("Xem trước (chưa lưu) " if result.dry_run else "Đã xếp ") +
        f"đợt {result.batch}, tháng chăm sóc {result.care_month}, chu kỳ căn cứ "
        f"{', '.join(result.cycles)}.",
        f"Quy định: {result.rule}.",
        f"{groups} · chờ quyết định nhóm: {_n(result.in_gap)} · danh sách chờ: "
        f"{_n(result.waiting)}",
        f"Không đủ điều kiện – {reasons or 'không có'}.",
    ]
    if result.kept:
        lines.append(f"Giữ nguyên {_n(result.kept)} KH đã có trong danh sách, thêm "
                     f"{_n(result.added)}.")
    if result.no_longer_qualify:
        lines.append("Không còn đủ điều kiện theo dữ liệu mới (vẫn giữ trong danh sách): " +
                     ", ".join(f"{classification.REASONS.get(k, k)}: {v}"
                               for k, v in result.no_longer_qualify.items()))
    lines += [f"Cảnh báo: {p}" for p in result.rule_problems]
    data["_text"] = "\n".join(lines)
    return data


def _cmd_explain(args: argparse.Namespace, out: TextIO) -> dict[str, Any]:
    from mbfcare.services import classification

    result = classification.explain(_open(args), args.msisdn, actor=_actor(args),
                                    programme_id=args.programme)
    data = result.to_json()
    data["_text"] = "\n".join([f"{result.msisdn} – {result.name or ''}".rstrip(" –"),
                               *result.lines])
    return data


def _cmd_decide(args: argparse.Namespace, out: TextIO) -> dict[str, Any]:
    from mbfcare.services import classification

    raw = str(args.group).strip().lower()
    if raw in ("none", "khong", "không", "0"):
        group = None
    elif raw.isdigit():
        group = int(raw)
    else:
        raise UsageError("--group cần số nhóm (1, 2…) hoặc 'none'.")
    result = classification.decide_gap(_open(args), args.msisdn, group=group, actor=_actor(args),
                                       note=args.note, programme_id=args.programme)
    data = result.to_json()
    data["_text"] = "\n".join(result.lines)
    return data


def _programme_close_purge(args: argparse.Namespace, factory: Any) -> dict[str, Any]:
    from mbfcare.services import data_protection as dp

    actor = _actor(args)
    if args.action == "close":
        if not args.yes:
            raise UsageError("Đóng chương trình thì không ghi thêm vào danh sách được nữa; "
                             "thêm --yes để xác nhận.")
        closed = dp.close_programme(factory, actor, args.programme)
        return {**closed.to_json(), "_text": closed.text}
    preview = dp.purge_preview(factory, actor, args.programme)
    if not args.yes:
        # Nothing erased without the confirmation: say what would go and what stays.
        raise UsageError(f"{preview.text} Thêm --yes để xác nhận.")
    result = dp.purge_personal_data(factory, actor, preview.programme_id)
    return {**result.to_json(), "_text": result.text}


def _audit_date(text: str | None, option: str) -> Any:
    import datetime as dt

    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise UsageError(f"{option} cần ngày dạng YYYY-MM-DD (không phải '{text}').") from exc


def _cmd_audit(args: argparse.Namespace, out: TextIO) -> dict[str, Any]:
    from mbfcare.services import audit_review as ar

    factory, actor = _open(args), _actor(args)
    filt = ar.AuditFilter(date_from=_audit_date(args.date_from, "--from"),
                          date_to=_audit_date(args.date_to, "--to"), user=args.filter_user,
                          action=args.action, programme_id=args.programme, text=args.text)
    if args.out is not None:
        exported = ar.export_audit(factory, actor, filt, args.out)
        return {**exported.to_json(), "_text": exported.text}
    rows = ar.entries_page(factory, actor, filt, limit=max(1, args.limit))
    total = ar.count_entries(factory, actor, filt)
    status = ar.chain_status(factory, actor)
    lines = [f"{r.id:>7} {r.at.astimezone():%d/%m/%Y %H:%M} {r.user[:18]:<18} "
             f"{r.action[:20]:<20} {r.summary}" for r in rows]
    lines.append(f"{_n(len(rows))}/{_n(total)} dòng. {status.text}")
    return {"entries": [r.to_json() for r in rows], "total": total, "chain_ok": status.ok,
            "chain_last_id": status.last_id, "chain_first_bad_id": status.first_bad_id,
            "_text": "\n".join(lines)}


def _cmd_export(args: argparse.Namespace, out: TextIO) -> dict[str, Any]:
    from mbfcare.services import exporting

    result = exporting.export_regional(_open(args), args.out, programme_id=args.programme,
                                       actor=_actor(args))
    data = result.to_json()
    counts = " · ".join(f"{sheet}: {n:,}".replace(",", ".") for sheet, n in result.rows.items())
    data["_text"] = (f"Đã xuất tệp gửi MBF KV5: {result.file}\n{counts}\n"
                     f"SHA-256 ChiTiet: {result.sha256}\n"
                     f"Nhật ký thao tác đến dòng {result.audit_line}: {result.audit_hash}")
    return data


def _cmd_consolidate(args: argparse.Namespace, out: TextIO) -> dict[str, Any]:
    from mbfcare.services import consolidation

    progress = TerminalProgress(sys.stderr, "Đang tổng hợp") if not args.json else None
    try:
        result = consolidation.consolidate(args.files, args.out, progress=progress,
                                           user=_user(args))
    finally:
        if progress is not None:
            progress.close()
    return {**result.to_json(), "_text": result.text}


def _cmd_list(args: argparse.Namespace, out: TextIO) -> dict[str, Any]:
    from mbfcare.services import exporting

    result = exporting.export_care_list(
        _open(args), args.out, programme_id=args.programme, batch=args.batch, group=args.group,
        district=args.district, store=args.store, actor=_actor(args))
    data = result.to_json()
    data["_text"] = f"Đã xuất danh sách chăm sóc ({result.rows:,} dòng): {result.file}".replace(
        ",", ".")
    return data


def _actor(args: argparse.Namespace) -> Any:
    actor = getattr(args, "_actor", None)
    if actor is None:
        actor = args._actor = _sign_in(args)
    return actor


def _record_bulk(args: argparse.Namespace, factory: Any, actor: Any) -> dict[str, Any]:
    from mbfcare.services import bulk_recording as bulk

    progress = TerminalProgress(sys.stderr, "Đang ghi") if not args.json else None
    try:
        result = bulk.record_from_file(factory, args.file, programme_id=args.programme,
                                       sheet=args.sheet, dry_run=args.dry_run, actor=actor,
                                       progress=progress)
    finally:
        if progress is not None:
            progress.close()
    data = result.to_json()
    actions = " · ".join(f"{bulk.ACTION_LABELS[k]}: {_n(v)}"
                         for k, v in result.per_action.items() if v)
    reasons = " · ".join(f"{bulk.REASONS.get(k, k)}: {_n(v)}"
                         for k, v in sorted(result.reasons.items(), key=lambda kv: -kv[1]))
    lines = [
        ("Kiểm tra (chưa lưu) " if result.dry_run else "Đã ghi kết quả từ ") +
        f"{result.file}" + (f", sheet '{result.sheet}'" if result.sheet else "") +
        f", tiêu đề ở dòng {result.header_row}.",
        f"Số dòng đọc: {_n(result.rows_read)} · có ghi: {_n(result.recorded)} · không đổi: "
        f"{_n(result.unchanged)} · từ chối: {_n(result.rejected)}.",
        f"Theo bước: {actions or 'không có gì mới'}.",
    ]
    if reasons:
        lines.append(f"Lý do từ chối: {reasons}.")
    if result.rejects_file:
        lines.append(f"Các dòng bị từ chối và lý do: {result.rejects_file}")
    data["_text"] = "\n".join(lines)
    return data


def _cmd_record(args: argparse.Namespace, out: TextIO) -> dict[str, Any]:
    from mbfcare.services import care_work as cw

    factory, actor = _open(args), _actor(args)
    if args.action == "bulk":
        return _record_bulk(args, factory, actor)
    on = cw.parse_step_date(getattr(args, "at", None))
    if args.action == "handover":
        result = cw.record_handover(
            factory, args.msisdn, actor=actor, item_code=args.item, location=args.location,
            by=args.by, on=on, programme_id=args.programme, owed=args.owed,
            promised_on=cw.parse_step_date(args.promised), note=args.note)
        return {**result.to_json(), "_text": result.text}
    if args.action == "give-owed":
        result = cw.give_owed(factory, args.msisdn, actor=actor, by=args.by, on=on,
                              item_code=args.item, programme_id=args.programme)
        return {**result.to_json(), "_text": result.text}
    if args.action == "step":
        step = cw.record_step(factory, args.msisdn, args.step, actor=actor, on=on, by=args.by,
                              value=args.value, programme_id=args.programme)
        return {**step.to_json(), "_text": step.text}
    if args.action == "outcome":
        return cw.record_outcome(factory, args.msisdn, args.outcome, actor=actor,
                                 note=args.note, on=on, programme_id=args.programme)
    text = cw.undo(factory, args.msisdn, args.what, reason=args.reason, actor=actor,
                   programme_id=args.programme)
    return {"undone": args.what, "_text": text}


def _cmd_stock(args: argparse.Namespace, out: TextIO) -> dict[str, Any]:
    from mbfcare.services import stock

    factory = _open(args)
    if args.action == "show":
        rows = stock.balances(factory, args.programme)
        lines = [f"{'Nơi':<40} {'Món quà':<32} {'Nhập':>6} {'Trao':>6} {'Nợ':>5} {'Còn':>6}"]
        lines += [f"{r.location[:40]:<40} {r.item_name[:32]:<32} {_n(r.received):>6} "
                  f"{_n(r.handed_over):>6} {_n(r.owed):>5} {_n(r.on_hand):>6}" for r in rows]
        return {"stock": [{"item": r.item_code, "item_name": r.item_name,
                           "gift_type": r.gift_type, "location": r.location,
                           "location_kind": r.location_kind, "received": r.received,
                           "transferred_in": r.transferred_in,
                           "transferred_out": r.transferred_out, "handed_over": r.handed_over,
                           "returned": r.returned, "written_off": r.written_off,
                           "owed": r.owed, "left": r.on_hand} for r in rows],
                "_text": "\n".join(lines) if rows else "Chưa có quà trong kho."}
    if args.action == "ledger":
        lines_ = stock.ledger(factory, args.programme, item_code=args.item,
                              location=args.location)
        return {"ledger": [{"id": m.id, "at": m.at.isoformat(), "kind": m.kind,
                            "item": m.item_code, "location": m.location,
                            "quantity": m.quantity, "by": m.by, "reason": m.reason,
                            "other_location": m.other_location} for m in lines_],
                "_text": "\n".join(
                    f"{m.at.astimezone():%d/%m/%Y %H:%M} {stock.MOVEMENT_LABELS[m.kind]:<16} "
                    f"{m.quantity:+5d} {m.item_name} – {m.location} {m.reason}".rstrip()
                    for m in lines_) or "Sổ kho trống."}
    result = stock.move_stock(factory, args.action.replace("-", "_"), args.item, args.qty,
                              actor=_actor(args), location=args.location,
                              to_location=getattr(args, "to", None), reason=args.reason,
                              programme_id=args.programme)
    return {"item": args.item, "quantity": args.qty, "location": result.location,
            "left": result.on_hand, "to": result.other_location,
            "to_left": result.other_on_hand, "_text": result.text}


def _cmd_profile(args: argparse.Namespace, out: TextIO) -> dict[str, Any]:
    from mbfcare.errors import ValidationError
    from mbfcare.services import care_work as cw
    from mbfcare.services import profiles

    factory = _open(args)
    if args.action == "export":
        exported = profiles.export_profiles(factory, args.out, args.programme,
                                            only_new=args.new_only, actor=_actor(args))
        return {**exported.to_json(), "_text": exported.text}
    try:
        result = profiles.record_profile(
            factory, args.msisdn, name=args.name, id_text=args.id, birth_text=args.birth,
            address=args.address, actor=_actor(args), on=cw.parse_step_date(args.at),
            reason=args.reason, by=args.by, programme_id=args.programme)
    except profiles.ProfileProblem as exc:  # every field's mistake at once, not only the first
        raise ValidationError(" ".join(exc.problems.values())) from exc
    return {**result.to_json(), "_text": result.text}


def _survey_lines(form: Any) -> list[str]:
    from mbfcare.domain.survey import SCALE_MAX, SCALE_MIN

    definition = form.definition
    lines = [f"{definition.title} (phiên bản {form.version}, {_n(form.responses)} phiếu đã "
             "nhập)"]
    lines += [f"  {line}" for line in definition.intro.splitlines()]
    kinds = {"scale": f"{SCALE_MIN}–{SCALE_MAX}", "single": "chọn một",
             "multiple": "chọn nhiều", "text": "tự do"}
    for number, q in enumerate(definition.questions, 1):
        need = "bắt buộc" if q.required else "không bắt buộc"
        lines.append(f"Câu {number} ({q.key}) [{kinds[q.kind]}, {need}]: {q.text}")
        if q.kind == "scale" and (q.low or q.high):
            lines.append(f"    {SCALE_MIN} = {q.low or '…'} · {SCALE_MAX} = {q.high or '…'}")
        lines += [f"    {i} {option}" for i, option in enumerate(q.options, 1)]
    return lines


def _cmd_survey(args: argparse.Namespace, out: TextIO) -> dict[str, Any]:
    from mbfcare.domain.survey import SurveyProblem, load_survey, survey_to_dict
    from mbfcare.services import care_work as cw
    from mbfcare.services import surveys

    factory = _open(args)
    if args.action == "show":
        form = surveys.survey_form(factory, args.programme)
        return {**form.to_json(), "_text": "\n".join(_survey_lines(form))}
    if args.action == "set-form":
        try:
            definition = load_survey(args.file)
        except SurveyProblem as exc:
            raise UsageError(str(exc)) from exc
        except OSError as exc:
            raise UsageError(f"Không mở được tệp '{args.file}' ({exc.strerror}).") from exc
        form = surveys.update_survey_form(factory, args.programme, survey_to_dict(definition),
                                          _actor(args))
        return {**form.to_json(), "_text": "\n".join([form.text, *form.changes])}
    if args.action == "enter":
        typed: dict[str, str] = {}
        for item in args.answer:
            key, sep, value = item.partition("=")
            key = key.strip()
            if not sep or not key:
                raise UsageError(f"--answer cần dạng KHÓA=GIÁ_TRỊ, ví dụ overall=4 (không phải "
                                 f"'{item}').")
            if key in typed:
                raise UsageError(f"Câu '{key}' được ghi hai lần.")
            typed[key] = value
        form = surveys.survey_form(factory, args.programme)
        answers = surveys.parse_typed_answers(form.definition, typed)
        result = surveys.save_response(factory, form.programme_id, args.msisdn, answers,
                                       actor=_actor(args), answered_on=cw.parse_step_date(args.at),
                                       reason=args.reason)
        return {**result.to_json(), "_text": result.text}
    exported = surveys.export_responses(factory, args.out, args.programme, batch=args.batch,
                                        only_new=args.new_only, actor=_actor(args))
    return {**exported.to_json(), "_text": exported.text}


def _sms_templates(args: argparse.Namespace, factory: Any) -> dict[str, Any]:
    from mbfcare.domain.sms import SAMPLE_VALUES, make_message, sms_count
    from mbfcare.services import sms

    programme = getattr(args, "programme", None)
    dto = sms.sms_templates(factory, programme)
    notice, invitation, days = (getattr(args, k, None)
                                for k in ("notice", "invitation", "deadline_days"))
    if getattr(args, "reset", False):
        notice, invitation, days = dto.default_notice, dto.default_invitation, \
            dto.default_deadline_days
    if any(v is not None for v in (notice, invitation, days)):
        dto = sms.update_sms_templates(
            factory, dto.programme_id, notice=dto.notice if notice is None else notice,
            invitation=dto.invitation if invitation is None else invitation,
            deadline_days=dto.deadline_days if days is None else days, actor=_actor(args))
    lines = [f"Mẫu tin nhắn của chương trình {dto.programme_id}"
             + (" (mặc định)" if dto.is_default else "") + ":"]
    for label, text in (("Nhóm 1 – thông báo", dto.notice), ("Nhóm 2 – mời nhận quà",
                                                               dto.invitation)):
        lines.append(f"{label}: {text}")
        for diacritics in (True, False):
            count = sms_count(make_message(text, SAMPLE_VALUES, diacritics=diacritics))
            lines.append(f"    ví dụ {'có dấu' if diacritics else 'không dấu'}: {count.text}")
    lines.append(f"Hạn nhận quà: {dto.deadline_days} ngày sau ngày lập danh sách.")
    lines.append("Chỗ điền: " + ", ".join(f"{{{k}}} {label.lower()}"
                                          for k, label in dto.placeholders))
    return {"programme_id": dto.programme_id, "notice": dto.notice,
            "invitation": dto.invitation, "deadline_days": dto.deadline_days,
            "is_default": dto.is_default, "_text": "\n".join(lines)}


def _cmd_sms(args: argparse.Namespace, out: TextIO) -> dict[str, Any]:
    from mbfcare.services import care_work as cw
    from mbfcare.services import sms

    factory = _open(args)
    if args.action == "opt-out":
        result = sms.set_sms_opt_out(factory, args.msisdn, not args.undo, actor=_actor(args))
        return {**result.to_json(), "_text": result.text}
    if args.action == "templates":
        return _sms_templates(args, factory)
    if args.batch is None:
        raise UsageError("Cần chọn đợt: mbfcare sms --batch K --out TỆP.csv|TỆP.xlsx "
                         "[--no-diacritics], hoặc --mark-sent để ghi đã gửi SMS.")
    diacritics = not args.no_diacritics
    deadline = cw.parse_step_date(args.deadline)
    data: dict[str, Any] = {"batch": args.batch}
    lines: list[str] = []
    if args.out is None and not args.mark_sent:
        preview = sms.sms_preview(factory, args.programme, args.batch, diacritics=diacritics,
                                  group=args.group, deadline=deadline,
                                  unsent_only=args.unsent_only)
        data.update(preview.to_json())
        lines.append(preview.text)
        for kind, label in sms.KIND_LABELS.items():
            first = next((r for r in preview.rows if r.kind == kind), None)
            if first is not None:
                lines.append(f"{label}, ví dụ ({first.length} ký tự, {first.parts} SMS, "
                             f"{first.encoding}): {first.message}")
        lines.append("Xuất tệp cho tổng đài SMS: thêm --out TỆP.csv hoặc --out TỆP.xlsx.")
    if args.out is not None:
        exported = sms.export_sms(factory, args.out, programme_id=args.programme,
                                  batch=args.batch, diacritics=diacritics, group=args.group,
                                  deadline=deadline, unsent_only=args.unsent_only,
                                  actor=_actor(args))
        data.update(exported.to_json())
        lines.append(exported.text)
    if args.mark_sent:
        marked = sms.mark_sms_sent(factory, programme_id=args.programme, batch=args.batch,
                                   on=cw.parse_step_date(args.at), group=args.group,
                                   actor=_actor(args))
        data["marked"] = marked.to_json()
        lines.append(marked.text)
        lines += [f"  {reason}" for reason in marked.refused]
    data["_text"] = "\n".join(lines)
    return data


def _cmd_print(args: argparse.Namespace, out: TextIO) -> dict[str, Any]:
    from mbfcare.services import printing

    progress = TerminalProgress(sys.stderr, "Đang in") if not args.json else None
    try:
        result = printing.print_documents(
            _open(args), args.kind, args.out, programme_id=args.programme, batch=args.batch,
            group=args.group, district=args.district, store=args.store, blank=args.blank,
            actor=_actor(args), progress=progress)
    finally:
        if progress is not None:
            progress.close()
    return {**result.to_json(), "_text": result.text}


def _cmd_report(args: argparse.Namespace, out: TextIO) -> dict[str, Any]:
    from mbfcare.services import reports

    result = reports.write_report(_open(args), args.kind, args.out,
                                  programme_id=args.programme, batch=args.batch,
                                  actor=_actor(args))
    return {**result.to_json(), "_text": result.text}


def _cmd_backup(args: argparse.Namespace, out: TextIO) -> dict[str, Any]:
    from mbfcare.services import maintenance

    result = maintenance.backup_database(args.db, args.out)
    return {**result.to_json(), "_text": result.text}


def _cmd_restore(args: argparse.Namespace, out: TextIO) -> dict[str, Any]:
    from mbfcare import paths
    from mbfcare.backup_files import BackupPolicy
    from mbfcare.services import backups, maintenance

    url = args.db or paths.default_db_url()
    policy = BackupPolicy.current()
    if args.file is None and not args.latest:
        listing = backups.list_database_backups(url, policy)
        if listing.note:
            return {"database": url, "backups": [], "_text": listing.note}
        rows = [{"file": str(b.file), "taken_at": b.taken_at.isoformat(), "kind": b.kind,
                 "bytes": b.size, "newest": i == 0} for i, b in enumerate(listing.backups)]
        lines = [f"Các bản sao lưu của {listing.database} trong {listing.folder}:"] + [
            f"  {b.taken_at:%d/%m/%Y %H:%M:%S}  {b.kind_label:<24} "
            f"{maintenance.format_size(b.size):>10}  {b.file.name}"
            + ("  (mới nhất)" if i == 0 else "") for i, b in enumerate(listing.backups)]
        if not listing.backups:
            lines = [f"Chưa có bản sao lưu nào của {listing.database} trong {listing.folder}."]
        else:
            lines.append("Khôi phục: mbfcare restore TỆP hoặc mbfcare restore --latest")
        return {"database": str(listing.database), "folder": str(listing.folder),
                "backups": rows, "_text": "\n".join(lines)}
    if args.file is not None and args.latest:
        raise UsageError("Chọn TỆP hoặc --latest, không cả hai.")
    if args.latest:
        chosen = backups.latest_backup(url, policy).file
    else:
        chosen = args.file
        if not chosen.exists() and chosen.parent == Path("."):
            chosen = policy.folder / chosen.name  # a name from the list
    path = backups.database_file(url)
    if path is not None and path.is_file() and maintenance.quick_check_file(path) is None:
        # A sound database has accounts to protect: only an administrator replaces it. A
        # damaged one has none left to ask, and the file is the operating system's to copy.
        _actor(args).require("users")
        factory = getattr(args, "_factory", None)
        if factory is not None:
            factory.kw["bind"].dispose()  # our own connections would hold the file
    result = backups.restore_backup(url, chosen, policy)
    return {**result.to_json(), "_text": result.text}


def _cmd_check(args: argparse.Namespace, out: TextIO) -> dict[str, Any]:
    from mbfcare.services import maintenance

    result = maintenance.check_database(_open(args))
    if result.ok:
        return {**result.to_json(), "_text": result.text}
    # Problems found: the list is the report (standard output) and the exit status is 4.
    if args.json:
        json.dump(result.to_json(), out, ensure_ascii=False)
        out.write("\n")
    else:
        out.write(result.text + "\n")
    return {"_exit": RuleError.exit_code}


def _new_password() -> str:
    given = os.environ.get("MBFCARE_NEW_PASSWORD")
    if given is not None:
        return given
    if sys.stdin is not None and sys.stdin.isatty():
        import getpass

        first = getpass.getpass("Mật khẩu mới: ")
        if getpass.getpass("Nhập lại mật khẩu mới: ") != first:
            raise UsageError("Hai lần nhập mật khẩu mới không giống nhau.")
        return first
    raise UsageError("Cần mật khẩu mới: đặt MBFCARE_NEW_PASSWORD hoặc chạy lệnh ở cửa sổ "
                     "dòng lệnh để nhập.")


def _user_line(u: Any) -> str:
    state = "" if u.active else " [đã khóa]"
    scope = f" – {u.scope}" if u.scope else ""
    return f"{u.username}\t{u.full_name}\t{u.role_words}{scope}{state}"


def _cmd_user(args: argparse.Namespace, out: TextIO) -> dict[str, Any]:
    from mbfcare.services import accounts

    factory, actor = _open(args), _actor(args)
    if args.action == "add":
        if not accounts.has_accounts(factory):
            if args.role != "admin":
                raise RuleError("Chưa có tài khoản nào: tạo quản trị đầu tiên trước "
                                "(mbfcare user add TÊN --name 'Họ tên' --role admin).")
            dto = accounts.create_first_admin(factory, args.username, args.name,
                                              _new_password())
        else:
            dto = accounts.create_user(factory, actor, username=args.username,
                                       full_name=args.name, password=_new_password(),
                                       role=args.role, district=args.district,
                                       store=args.store)
        return {**dto.to_json(), "_text": f"Đã tạo người dùng: {_user_line(dto)}"}
    if args.action == "list":
        users = accounts.list_users(factory, actor)
        return {"users": [u.to_json() for u in users],
                "_text": "\n".join(_user_line(u) for u in users) or "Chưa có người dùng nào."}
    if args.action == "passwd":
        old = _password("Mật khẩu hiện tại: ", "MBFCARE_PASSWORD")
        if old is None:
            raise UsageError(SIGN_IN_HELP)
        accounts.change_password(factory, actor, old, _new_password())
        return {"username": actor.username, "_text": "Đã đổi mật khẩu."}
    target = accounts.find_user(factory, actor, args.username)
    if args.action == "reset":
        dto = accounts.reset_password(factory, actor, target.id, _new_password())
        text = f"Đã đặt mật khẩu mới cho {dto.username}."
    else:
        dto = accounts.set_active(factory, actor, target.id, args.action == "enable")
        text = ("Đã mở lại" if dto.active else "Đã khóa") + f" tài khoản {dto.username}."
    return {**dto.to_json(), "_text": text}


def _cmd_gui(args: argparse.Namespace, out: TextIO) -> dict[str, Any]:
    from mbfcare.ui.app import run_gui

    code = run_gui(args.db)
    return {"_exit": code}


COMMANDS: dict[str, Callable[[argparse.Namespace, TextIO], dict[str, Any]]] = {
    "programme": _cmd_programme,
    "import": _cmd_import,
    "gui": _cmd_gui,
    "classify": _cmd_classify,
    "explain": _cmd_explain,
    "decide": _cmd_decide,
    "export": _cmd_export,
    "consolidate": _cmd_consolidate,
    "list": _cmd_list,
    "record": _cmd_record,
    "stock": _cmd_stock,
    "profile": _cmd_profile,
    "survey": _cmd_survey,
    "print": _cmd_print,
    "report": _cmd_report,
    "sms": _cmd_sms,
    "backup": _cmd_backup,
    "restore": _cmd_restore,
    "check": _cmd_check,
    "user": _cmd_user,
    "audit": _cmd_audit,
}
# The window signs in with its own dialog; consolidation reads only the provinces' files.
# `restore` signs in itself, only when the database it replaces is sound; `backup` copies the
# file as it is, without opening (creating, migrating) the database.
_NO_SIGN_IN = frozenset({"gui", "consolidate", "restore", "backup"})


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run the command; returns the exit status (0 done, 2 usage, 3 file refused, 4 rule)."""
    out = out or sys.stdout
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    from mbfcare import logs

    logs.setup(debug=debug, console=debug)
    args: argparse.Namespace | None = None
    try:
        try:
            args = _parser().parse_args(argv)
        except SystemExit as exc:  # --help and --version print and stop
            return int(exc.code or 0)
        command = args.command or "gui"
        if command not in _NO_SIGN_IN:
            _actor(args)
        result = COMMANDS[command](args, out)
    except MbfCareError as exc:
        if debug:
            logger.exception("failed")
        print(f"Lỗi: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("Đã dừng theo yêu cầu; không có gì thay đổi.", file=sys.stderr)
        return 130
    except Exception as exc:
        if debug:
            raise
        logger.error("unexpected error", exc_info=True)
        print(f"Lỗi không mong đợi: {type(exc).__name__}: {exc}. Chạy lại với --debug để xem "
              "chi tiết và báo cho bộ phận IT.", file=sys.stderr)
        return EXIT_UNEXPECTED
    finally:
        # Close the command's connections now (a caller in the same process, such as a
        # test or a script, may restore or back the file up next).
        factory = getattr(args, "_factory", None)
        if factory is not None:
            factory.kw["bind"].dispose()
    if "_exit" in result:
        return int(result["_exit"])
    text = result.pop("_text", "")
    if getattr(args, "json", False):
        json.dump(result, out, ensure_ascii=False, default=str)
        out.write("\n")
    elif text:
        out.write(text + "\n")
    return EXIT_OK
