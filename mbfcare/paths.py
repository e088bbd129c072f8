"""Where MBF Care keeps its data, logs, backups and rejects; no Qt here."""

from __future__ import annotations

import os
import re
import sys
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path, PurePath, PureWindowsPath
from typing import Any

import platformdirs

from mbfcare import APP_NAME


def data_dir() -> Path:
    """The folder for the default database, backups, logs and rejects workbooks.

    `MBFCARE_HOME` wins; otherwise the per-user data folder
    (Windows: `%LOCALAPPDATA%\\MBFCare`).
    """
    home = os.environ.get("MBFCARE_HOME")
    path = Path(home) if home else Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def _sub(name: str) -> Path:
    path = data_dir() / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def rejects_dir() -> Path:
    """Folder for the rejects workbooks written by imports."""
    return _sub("rejects")


def backups_dir() -> Path:
    """Folder for database backups."""
    return _sub("backups")


def log_dir() -> Path:
    """Folder for the rotating log files."""
    return _sub("logs")


def default_db_path() -> Path:
    """The SQLite file used when no `--db`/`MBFCARE_DB` is given."""
    return data_dir() / "mbfcare.sqlite"


def default_db_url() -> str:
    """`MBFCARE_DB` if set, else the SQLite file in the data folder."""
    return os.environ.get("MBFCARE_DB") or f"sqlite:///{default_db_path().as_posix()}"


@cache
def resources_dir() -> Path:
    """The `resources/` folder: inside the installed package, or beside it in a checkout."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "resources", here.parent / "resources"):
        if (candidate / "reference").is_dir():
            return candidate
    raise FileNotFoundError("MBF Care resources folder not found next to the package")


def resource_file(*parts: str) -> Path:
    """A file under `resources/`, e.g. `resource_file("surveys", "default.toml")`."""
    return resources_dir().joinpath(*parts)


def reference_file(name: str) -> Path:
    """A file of reference data (provinces, prefixes, header names)."""
    return resource_file("reference", name)


# --------------------------------------------------------------------------- shared folders

ALLOW_SHARED_ENV = "MBFCARE_ALLOW_SHARED_FOLDER"
"""Set to 1 by an administrator who knows the risk, to open an SQLite file on a shared folder."""

DRIVE_REMOTE = 4
"""`GetDriveTypeW` answer for a mapped network drive."""

# Linux file systems that live on another machine. FUSE file systems are named `fuse.<prog>`;
# only the programs below reach another machine (fuse-overlayfs, ntfs-3g, AppImages are local).
_NETWORK_FS = frozenset({
    "nfs", "nfs4", "cifs", "smb3", "smbfs", "smb", "afs", "ceph", "glusterfs", "lustre",
    "9p.cifs", "davfs", "ncpfs", "coda", "gpfs", "beegfs", "afpfs", "webdav",
})
_NETWORK_FUSE = frozenset({
    "sshfs", "rclone", "s3fs", "gcsfuse", "goofys", "gvfsd-fuse", "davfs2", "glusterfs",
    "ceph-fuse", "cephfs", "smbnetfs", "curlftpfs", "onedriver", "google-drive-ocamlfuse",
    "dropbox", "megafuse", "mega-fuse", "pcloud", "juicefs", "seaweedfs",
})

_CLOUD_ENV = ("OneDrive", "OneDriveCommercial", "OneDriveConsumer")


@dataclass(frozen=True)
class SharedLocation:
    """Why a path is not a plain local folder.

    Attributes:
        kind: `cloud` (a folder a sync client copies to other machines), `network` (a share
            reached over the network) or `drive` (a mapped network drive letter).
        name: what it is, for the sentence: `OneDrive`, `\\\\server\\share`, `Z:`, `nfs4`.
    """

    kind: str
    name: str


def _cloud_name(component: str, following: str) -> str | None:
    """The sync service a folder name belongs to (`component` casefolded, NFC)."""
    if component == "onedrive" or component.startswith(("onedrive - ", "onedrive-")):
        return "OneDrive"
    if component == "dropbox" or component.startswith(("dropbox (", "dropbox-")):
        return "Dropbox"
    if component in {"google drive", "googledrive", "my drive", "drive của tôi"} or \
            component.startswith("googledrive-"):
        return "Google Drive"
    if component in {"icloud drive", "iclouddrive", "com~apple~clouddocs"}:
        return "iCloud Drive"
    if component in {"mega", "megasync", "mega sync"}:
        return "MEGA"
    if component in {"pcloud drive", "pclouddrive", "pcloud", "pcloud sync"}:
        return "pCloud"
    if component in {"box sync", "box drive"}:
        return "Box"
    if component in {"nextcloud", "owncloud", "yandex.disk", "sync.com", "tresorit"}:
        return {"nextcloud": "Nextcloud", "owncloud": "ownCloud", "yandex.disk": "Yandex.Disk",
                "sync.com": "Sync.com", "tresorit": "Tresorit"}[component]
    if component == "cloudstorage" and following:
        # macOS keeps every File Provider client under ~/Library/CloudStorage/<Name-account>.
        return _cloud_name(following, "") or following.split("-", 1)[0].strip()
    return None


def _components(text: str) -> list[str]:
    return [p for p in re.split(r"[\\/]+", text) if p]


def _fold(text: str) -> str:
    return unicodedata.normalize("NFC", text).casefold()


def _inside(path: str, folder: str) -> bool:
    inner, outer = _components(_fold(path)), _components(_fold(folder))
    return bool(outer) and inner[:len(outer)] == outer


def _unc_share(text: str) -> str | None:
    """`\\\\server\\share` for a UNC path (also `\\\\?\\UNC\\…`), None for a local one."""
    if text.startswith(("\\\\?\\UNC\\", "//?/UNC/")):
        parts = _components(text[8:])
    elif text.startswith(("\\\\?\\", "\\\\.\\", "//?/", "//./")):
        return None  # extended-length or device path to a local drive
    elif text.startswith(("\\\\", "//")):
        parts = _components(text)
    else:
        return None
    return "\\\\" + "\\".join(parts[:2]) if parts else "\\\\"


def _mount_fs(path: str, mounts: str) -> tuple[str, str] | None:
    """(mount point, file system type) of the mount holding `path`, from /proc/mounts text."""
    best: tuple[str, str] | None = None
    for line in mounts.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        # /proc/mounts writes spaces and tabs in mount points as octal escapes.
        point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), fields[1])
        inside = path == point or path.startswith(point.rstrip("/") + "/")
        if inside and (best is None or len(point) >= len(best[0])):
            best = (point, fields[2])
    return best


def _network_fs(fstype: str) -> bool:
    fstype = fstype.lower()
    if fstype.startswith("fuse."):
        return fstype[5:] in _NETWORK_FUSE
    return fstype in _NETWORK_FS or fstype.startswith(("nfs", "smb"))


def _windows_drive_type(root: str) -> int:
    if sys.platform == "win32":
        import ctypes

        return int(ctypes.windll.kernel32.GetDriveTypeW(root))
    return 0


def shared_location(
    path: str | PurePath,
    *,
    platform: str | None = None,
    env: Mapping[str, str] | None = None,
    mounts: str | None = None,
    drive_type: Callable[[str], int] | None = None,
) -> SharedLocation | None:
    """Whether `path` is on a network share, a mapped network drive or a cloud-synced folder.

    Pure apart from its defaults, which read the running system; tests pass every one.

    Args:
        path: the file (it need not exist).
        platform: `sys.platform` to judge by (`win32` reads `\\` paths and drive letters).
        env: the environment (`%OneDrive%` and friends); default `os.environ`.
        mounts: the text of `/proc/mounts`; default read when it exists (Linux).
        drive_type: `GetDriveTypeW` of a drive root such as `Z:\\`; default the real one on
            Windows.

    Returns:
        None for a plain local folder.
    """
    platform = platform or sys.platform
    env = os.environ if env is None else env
    text = str(path)
    windows = platform == "win32"
    if windows or "\\" in text or text.startswith("//"):
        share = _unc_share(text)
        if share is not None and (windows or "\\" in text):
            return SharedLocation("network", share)
    if windows:
        drive = PureWindowsPath(text).drive
        if len(drive) == 2 and drive[1] == ":":
            probe = drive_type or _windows_drive_type
            if probe(drive + "\\") == DRIVE_REMOTE:
                return SharedLocation("drive", drive.upper())
    for name in _CLOUD_ENV:
        folder = env.get(name, "")
        if folder and _inside(text, folder):
            return SharedLocation("cloud", "OneDrive")
    parts = [_fold(p) for p in _components(text)]
    for i, part in enumerate(parts[:-1]):  # the file's own name does not count
        following = parts[i + 1] if i + 1 < len(parts) - 1 else ""
        cloud = _cloud_name(part, following)
        if cloud is not None:
            return SharedLocation("cloud", cloud)
    if not windows:
        if mounts is None and platform.startswith("linux"):
            try:
                mounts = Path("/proc/mounts").read_text(encoding="utf-8", errors="replace")
            except OSError:
                mounts = None
        if mounts:
            found = _mount_fs(text, mounts)
            if found is not None and _network_fs(found[1]):
                return SharedLocation("network", f"{found[1]} {found[0]}")
    return None


def shared_folder_problem(path: Path, **probe: Any) -> str | None:
    """The sentence refusing an SQLite file on a shared folder, or None when it is local.

    `MBFCARE_ALLOW_SHARED_FOLDER=1` (for an administrator who knows the risk) lets it through.
    The keyword arguments go to `shared_location` (tests inject the system).
    """
    env = probe.get("env")
    environ = os.environ if env is None else env
    if environ.get(ALLOW_SHARED_ENV, "") == "1":
        return None
    try:
        full = str(path.resolve()) if probe.get("platform") is None else str(path)
    except OSError:
        full = str(path)
    where = shared_location(full, **probe) or (
        shared_location(str(path), **probe) if full != str(path) else None)
    if where is None:
        return None
    example = Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)) / "mbfcare.sqlite"
    advice = (f"Chuyển tệp về ổ máy này (ví dụ {example}) hoặc dùng máy chủ PostgreSQL cho "
              "nhiều máy.")
    if where.kind == "cloud":
        return (f"Tệp cơ sở dữ liệu {path} nằm trong thư mục đồng bộ {where.name}; SQLite trên "
                f"thư mục đồng bộ có thể hỏng khi hai máy cùng ghi. {advice}")
    if where.kind == "drive":
        return (f"Tệp cơ sở dữ liệu {path} nằm trên ổ mạng {where.name}; SQLite trên ổ mạng có "
                f"thể hỏng khi hai máy cùng ghi. {advice}")
    return (f"Tệp cơ sở dữ liệu {path} nằm trên thư mục chia sẻ qua mạng ({where.name}); SQLite "
            f"qua mạng có thể hỏng khi hai máy cùng ghi. {advice}")
