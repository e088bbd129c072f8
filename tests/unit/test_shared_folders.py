"""An SQLite file on a network share, a network drive or a synced folder is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from mbfcare import paths
from mbfcare.db import open_database
from mbfcare.errors import StorageError
from mbfcare.paths import SharedLocation, shared_folder_problem, shared_location

LOCAL = 3  # DRIVE_FIXED


def win(path: str, env: dict[str, str] | None = None, remote: str = "") -> SharedLocation | None:
    return shared_location(path, platform="win32", env=env or {},
                           drive_type=lambda root: paths.DRIVE_REMOTE
                           if root[0].upper() in remote else LOCAL)


@pytest.mark.parametrize(("path", "expected"), [
    (r"\\nas01\cskh\mbfcare.sqlite", SharedLocation("network", r"\\nas01\cskh")),
    (r"\\?\UNC\nas01\cskh\data\mbfcare.sqlite", SharedLocation("network", r"\\nas01\cskh")),
    ("//nas01/cskh/mbfcare.sqlite", SharedLocation("network", r"\\nas01\cskh")),
    (r"Z:\MBFCare\mbfcare.sqlite", SharedLocation("drive", "Z:")),
    (r"C:\Users\lan\OneDrive - MobiFone\CSKH\mbfcare.sqlite", SharedLocation("cloud", "OneDrive")),
    (r"C:\Users\lan\Dropbox\mbfcare.sqlite", SharedLocation("cloud", "Dropbox")),
    (r"C:\Users\lan\Dropbox (MobiFone)\mbfcare.sqlite", SharedLocation("cloud", "Dropbox")),
    (r"G:\My Drive\CSKH\mbfcare.sqlite", SharedLocation("cloud", "Google Drive")),
    (r"G:\Drive của tôi\mbfcare.sqlite", SharedLocation("cloud", "Google Drive")),
    (r"C:\Users\lan\iCloudDrive\mbfcare.sqlite", SharedLocation("cloud", "iCloud Drive")),
    (r"C:\Users\lan\MEGA\mbfcare.sqlite", SharedLocation("cloud", "MEGA")),
    (r"P:\pCloud Drive\mbfcare.sqlite", SharedLocation("cloud", "pCloud")),
    # local places, including a file merely named after a service
    (r"C:\Users\lan\AppData\Local\MBFCare\mbfcare.sqlite", None),
    (r"D:\CSKH\OneDrive.sqlite", None),
    (r"\\?\C:\CSKH\mbfcare.sqlite", None),
])
def test_windows_paths(path: str, expected: SharedLocation | None) -> None:
    assert win(path, remote="Z") == expected


def test_onedrive_folder_from_the_environment() -> None:
    env = {"OneDrive": r"C:\Users\lan\Tài liệu đồng bộ"}
    assert win(r"c:\users\LAN\tài liệu đồng bộ\cskh\mbfcare.sqlite", env) == \
        SharedLocation("cloud", "OneDrive")
    business = {"OneDriveCommercial": r"D:\CongTy"}
    assert win(r"D:\CongTy\mbfcare.sqlite", business) == SharedLocation("cloud", "OneDrive")
    assert win(r"D:\CongTyKhac\mbfcare.sqlite", business) is None


MOUNTS = """\
/dev/sda1 / ext4 rw,relatime 0 0
nas01:/export/cskh /mnt/nas nfs4 rw,relatime 0 0
//nas01/cskh /mnt/smb\\040share cifs rw 0 0
lan@nas01: /home/lan/remote fuse.sshfs rw 0 0
fuse-overlayfs /var/lib/app fuse.fuse-overlayfs rw 0 0
tmpfs /tmp tmpfs rw 0 0
"""


@pytest.mark.parametrize(("path", "expected"), [
    ("/mnt/nas/mbfcare.sqlite", SharedLocation("network", "nfs4 /mnt/nas")),
    ("/mnt/smb share/x/mbfcare.sqlite", SharedLocation("network", "cifs /mnt/smb share")),
    ("/home/lan/remote/mbfcare.sqlite", SharedLocation("network", "fuse.sshfs /home/lan/remote")),
    ("/var/lib/app/mbfcare.sqlite", None),
    ("/mnt/nasty/mbfcare.sqlite", None),  # a prefix of a name is not a mount point
    ("/tmp/pytest/mbfcare.sqlite", None),
    ("/home/lan/.local/share/MBFCare/mbfcare.sqlite", None),
    ("/Users/lan/Library/Mobile Documents/com~apple~CloudDocs/mbfcare.sqlite",
     SharedLocation("cloud", "iCloud Drive")),
    ("/Users/lan/Library/CloudStorage/OneDrive-Personal/mbfcare.sqlite",
     SharedLocation("cloud", "OneDrive")),
    ("/home/lan/Nextcloud/mbfcare.sqlite", SharedLocation("cloud", "Nextcloud")),
])
def test_posix_paths(path: str, expected: SharedLocation | None) -> None:
    assert shared_location(path, platform="linux", env={}, mounts=MOUNTS) == expected


def test_the_sentence_names_the_place_and_what_to_do() -> None:
    text = shared_folder_problem(Path("/home/lan/OneDrive/mbfcare.sqlite"), platform="linux",
                                 env={}, mounts="")
    assert text is not None
    assert "nằm trong thư mục đồng bộ OneDrive; SQLite trên thư mục đồng bộ có thể hỏng khi " \
           "hai máy cùng ghi. Chuyển tệp về ổ máy này (ví dụ " in text
    assert text.endswith("hoặc dùng máy chủ PostgreSQL cho nhiều máy.")
    network = shared_folder_problem(Path("/mnt/nas/mbfcare.sqlite"), platform="linux", env={},
                                    mounts=MOUNTS)
    assert network is not None and "thư mục chia sẻ qua mạng (nfs4 /mnt/nas)" in network
    drive = shared_folder_problem(Path(r"Z:\mbfcare.sqlite"), platform="win32", env={},
                                  drive_type=lambda root: paths.DRIVE_REMOTE)
    assert drive is not None and "nằm trên ổ mạng Z:" in drive


def test_an_administrator_may_allow_it() -> None:
    env = {paths.ALLOW_SHARED_ENV: "1"}
    assert shared_folder_problem(Path("/home/lan/Dropbox/x.sqlite"), platform="linux", env=env,
                                 mounts="") is None


def test_open_database_refuses_a_synced_folder_and_the_escape_hatch_opens_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{(tmp_path / 'Dropbox' / 'mbfcare.sqlite').as_posix()}"
    with pytest.raises(StorageError, match="thư mục đồng bộ Dropbox"):
        open_database(url)
    assert not (tmp_path / "Dropbox").exists()  # refused before anything was created
    monkeypatch.setenv(paths.ALLOW_SHARED_ENV, "1")
    engine, _ = open_database(url)
    engine.dispose()
    assert (tmp_path / "Dropbox" / "mbfcare.sqlite").is_file()


def test_the_test_folders_themselves_are_local(tmp_path: Path) -> None:
    assert shared_folder_problem(tmp_path / "test.sqlite") is None
