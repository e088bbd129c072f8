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
from mbfcare.errors import MbfCareError, UsageError

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
    common.add_argument("--user", help="người thực hiện (ghi vào nhật ký)", **kw)
    return common


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

    care_list = sub.add_parser("list", parents=[common], help="xuất danh sách chăm sóc")
    care_list.add_argument("--out", type=Path, required=True, help="tệp .xlsx hoặc .csv")
    care_list.add_argument("--programme", type=int)
    care_list.add_argument("--batch", type=int)
    care_list.add_argument("--group", type=int, choices=(1, 2))
    care_list.add_argument("--district", help="quận/huyện (không cần dấu)")
    care_list.add_argument("--store", help="cửa hàng (không cần dấu)")
    return parser


def _open(args: argparse.Namespace) -> Any:
    from mbfcare.db import open_database

    _, factory = open_database(args.db)
    return factory


def _user(args: argparse.Namespace) -> str:
    return args.user or os.environ.get("MBFCARE_USER") or os.environ.get("USERNAME") or \
        os.environ.get("USER") or ""


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
        pid = programmes.create_programme(factory, spec)
        return {"programme_id": pid, "_text": f"Đã tạo chương trình số {pid}: {spec.name}."}
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


def _cmd_import(args: argparse.Namespace, out: TextIO) -> dict[str, Any]:
    from mbfcare.services import importing

    factory = _open(args)
    progress = TerminalProgress(sys.stderr, "Đang nhập") if not args.json else None
    try:
        if args.action == "subscribers":
            result = importing.import_subscribers(
                factory, args.file, programme_id=args.programme, batch=args.batch,
                care_month=args.care_month, sheet=args.sheet, strict=args.strict,
                dry_run=args.dry_run, user=_user(args), progress=progress)
        else:
            result = importing.import_exclusions(
                factory, args.file, programme_id=args.programme, sheet=args.sheet,
                dry_run=args.dry_run, user=_user(args), progress=progress)
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
        dry_run=args.dry_run, plan=plan or None, user=_user(args))
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

    result = classification.explain(_open(args), args.msisdn, programme_id=args.programme)
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
    result = classification.decide_gap(_open(args), args.msisdn, group=group, by=_user(args),
                                       note=args.note, programme_id=args.programme)
    data = result.to_json()
    data["_text"] = "\n".join(result.lines)
    return data


def _cmd_export(args: argparse.Namespace, out: TextIO) -> dict[str, Any]:
    from mbfcare.services import exporting

    result = exporting.export_regional(_open(args), args.out, programme_id=args.programme,
                                       user=_user(args))
    data = result.to_json()
    counts = " · ".join(f"{sheet}: {n:,}".replace(",", ".") for sheet, n in result.rows.items())
    data["_text"] = (f"Đã xuất tệp gửi MBF KV5: {result.file}\n{counts}\n"
                     f"SHA-256 ChiTiet: {result.sha256}")
    return data


def _cmd_list(args: argparse.Namespace, out: TextIO) -> dict[str, Any]:
    from mbfcare.services import exporting

    result = exporting.export_care_list(
        _open(args), args.out, programme_id=args.programme, batch=args.batch, group=args.group,
        district=args.district, store=args.store)
    data = result.to_json()
    data["_text"] = f"Đã xuất danh sách chăm sóc ({result.rows:,} dòng): {result.file}".replace(
        ",", ".")
    return data


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
    "list": _cmd_list,
}


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run the command; returns the exit status (0 done, 2 usage, 3 file refused, 4 rule)."""
    out = out or sys.stdout
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    from mbfcare import logs

    logs.setup(debug=debug, console=debug)
    try:
        try:
            args = _parser().parse_args(argv)
        except SystemExit as exc:  # --help and --version print and stop
            return int(exc.code or 0)
        command = args.command or "gui"
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
    if "_exit" in result:
        return int(result["_exit"])
    text = result.pop("_text", "")
    if getattr(args, "json", False):
        json.dump(result, out, ensure_ascii=False, default=str)
        out.write("\n")
    elif text:
        out.write(text + "\n")
    return EXIT_OK
