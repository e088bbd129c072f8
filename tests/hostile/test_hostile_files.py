"""Every file of the hostile corpus is refused by `mbfcare import`: exit 3, one sentence, nothing
written, under 500 MB of memory and 10 seconds.

Each case runs the real command line in its own process, so the memory measured is the
command's own peak (`VmHWM` of the child, read by the child itself just before it exits: a
parent's `ru_maxrss` would carry over the test runner's memory through fork and exec).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import unicodedata
from pathlib import Path

import pytest

from mbfcare.db import make_engine, make_session_factory
from mbfcare.services.importing import stored_counts
from tests.hostile.corpus import CARE_MONTH, MAKERS

# What a file does to the importer does not depend on the database: these run on SQLite only
# (the server's transactions are the same all-or-nothing).
pytestmark = pytest.mark.sqlite_only

PEAK_LIMIT_MB = 500
TIME_LIMIT_S = 10.0
VIETNAMESE = set("ăâđêôơưáàảãạấầẩẫậắằẳẵặéèẻẽẹếềểễệíìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵ")
FIGURES = Path(os.environ.get("MBFCARE_HOSTILE_FIGURES", "")) if os.environ.get(
    "MBFCARE_HOSTILE_FIGURES") else None

# Runs the command line, then records its own peak resident memory (Linux: VmHWM, which
# exec resets; elsewhere ru_maxrss) in the file named by the environment.
_RUNNER = """
import os, sys
from mbfcare.cli import main

code = main(sys.argv[1:])
peak_kb = 0
try:
    with open("/proc/self/status") as status:
        peak_kb = next(int(l.split()[1]) for l in status if l.startswith("VmHWM"))
except OSError:
    import resource
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if sys.platform == "darwin":
        peak_kb //= 1024
with open(os.environ["MBFCARE_PEAK_FILE"], "w") as out:
    out.write(str(peak_kb))
sys.exit(code)
"""


def _command(case_path: Path, db_url: str, unreadable: bool) -> list[str]:
    argv = [sys.executable, "-c", _RUNNER, "--db", db_url, "import", "subscribers",
            str(case_path), "--care-month", CARE_MONTH, "--json"]
    if unreadable and os.geteuid() == 0:
        # root reads any file; without these two capabilities it is refused like anyone
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv: cannot make a file unreadable")
        argv = [setpriv, "--bounding-set", "-dac_override,-dac_read_search", "--", *argv]
    return argv


@pytest.mark.parametrize("kind", list(MAKERS))
def test_hostile_file_is_refused(kind: str, db_url: str, programme_id: int, tmp_path: Path,
                                 data_home: Path) -> None:
    folder = tmp_path / "corpus"
    folder.mkdir()
    case = MAKERS[kind](folder)
    engine = make_engine(db_url)
    factory = make_session_factory(engine)
    try:
        before = stored_counts(factory)
        peak_file = tmp_path / "peak.txt"
        env = {**os.environ, "MBFCARE_HOME": str(data_home), "MBFCARE_PEAK_FILE": str(peak_file)}
        env.pop("MBFCARE_DB", None)
        start = time.perf_counter()
        done = subprocess.run(_command(case.path, db_url, kind == "unreadable"), env=env,
                              capture_output=True, timeout=60, check=False)
        elapsed = time.perf_counter() - start
        err = done.stderr.decode("utf-8")
        assert done.returncode == 3, err
        assert done.stdout == b""
        assert "Traceback" not in err
        lines = [line for line in err.splitlines() if line.strip()]
        assert len(lines) == 1, err
        sentence = lines[0]
        assert unicodedata.normalize("NFC", case.path.name) in sentence, sentence
        assert VIETNAMESE & set(sentence.lower()), sentence
        assert case.expect in sentence.lower(), sentence
        assert stored_counts(factory) == before
        peak_mb = int(peak_file.read_text()) / 1024
        assert peak_mb < PEAK_LIMIT_MB, f"{kind}: {peak_mb:.0f} MB"
        assert elapsed < TIME_LIMIT_S, f"{kind}: {elapsed:.1f} s"
        if FIGURES is not None:
            with FIGURES.open("a", encoding="utf-8") as out:
                out.write(json.dumps({"case": kind, "seconds": round(elapsed, 2),
                                      "peak_mb": round(peak_mb), "message": sentence},
                                     ensure_ascii=False) + "\n")
    finally:
        if case.path.exists() and not case.path.is_dir():
            case.path.chmod(0o600)
        engine.dispose()
