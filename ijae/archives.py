"""Safe extraction of downloaded or user-given dataset archives (.tar, .tar.gz, .zip).

A crafted archive must not write outside the folder it is extracted into. Every member is
checked before anything is written, so a refused archive leaves nothing behind:

- tar: no absolute names and no ``..``; then Python's ``tarfile.data_filter`` (3.11.4+ / 3.12: no
  links leaving the folder, no device files, no set-uid bits), then ``extractall(filter="data")``; on an
  older Python without it, the same rules checked by hand and only files and folders extracted.
- zip: every name must be relative, without ``..`` or a drive, and land inside the folder.

An empty, truncated or foreign file is an :class:`ArchiveError` naming it (one line).
"""
from __future__ import annotations

import os
import tarfile
import zipfile
import zlib
from pathlib import Path, PurePosixPath, PureWindowsPath

from ijae import UserError


class ArchiveError(UserError, ValueError):
    """An archive is unreadable or would write outside its destination."""


def extract(archive: str | Path, dest: str | Path) -> Path:
    """Extract ``archive`` (tar, optionally compressed, or zip: told by content) into ``dest``."""
    archive, dest = Path(archive), Path(dest)
    if not archive.is_file():
        raise ArchiveError(f"{archive}: no such archive file")
    dest.mkdir(parents=True, exist_ok=True)
    try:
        if zipfile.is_zipfile(archive):
            _extract_zip(archive, dest)
        elif _is_tar(archive):
            _extract_tar(archive, dest)
        else:
            raise ArchiveError(f"{archive}: not a tar or zip archive (empty, truncated or another "
                               "kind of file); download it again")
    except (tarfile.TarError, zipfile.BadZipFile, zlib.error, EOFError, OSError) as error:
        raise ArchiveError(f"{archive}: unreadable archive ({' '.join(str(error).split())}); "
                           "download it again") from None
    return dest


def _is_tar(path: Path) -> bool:
    try:
        with tarfile.open(path, "r:*") as tar:
            return tar.next() is not None
    except (tarfile.TarError, zlib.error, EOFError, OSError):
        return False


def _outside(dest: Path, name: str) -> bool:
    target = os.path.realpath(dest / name)
    return os.path.commonpath([target, os.path.realpath(dest)]) != os.path.realpath(dest)


def _refuse(archive: Path, dest: Path, name: str, why: str) -> ArchiveError:
    return ArchiveError(f"{archive}: member {name!r} {why}; refusing to extract it into {dest} "
                        "(a crafted or damaged archive: download it again from the official source)")


def _extract_zip(archive: Path, dest: Path) -> None:
    with zipfile.ZipFile(archive) as zf:
        for name in zf.namelist():
            posix, windows = PurePosixPath(name), PureWindowsPath(name)
            if posix.is_absolute() or windows.is_absolute() or windows.drive or name.startswith("\\"):
                raise _refuse(archive, dest, name, "has an absolute path")
            if ".." in posix.parts or ".." in windows.parts:
                raise _refuse(archive, dest, name, "climbs out with '..'")
            if _outside(dest, name):
                raise _refuse(archive, dest, name, "lands outside the destination")
        zf.extractall(dest)


def _extract_tar(archive: Path, dest: Path) -> None:
    with tarfile.open(archive, "r:*") as tar:
        members = tar.getmembers()
        for member in members:  # check all first: a refused archive writes nothing
            if os.path.isabs(member.name) or ".." in PurePosixPath(member.name).parts:
                raise _refuse(archive, dest, member.name, "has an absolute path or '..'")
        if hasattr(tarfile, "data_filter"):
            for member in members:
                try:
                    tarfile.data_filter(member, str(dest))
                except tarfile.FilterError as error:
                    raise _refuse(archive, dest, member.name, f"is unsafe ({error})") from None
            tar.extractall(dest, members=members, filter="data")
        else:  # Python < 3.11.4: the same rules by hand, regular files and folders only
            for member in members:
                if _outside(dest, member.name):
                    raise _refuse(archive, dest, member.name, "lands outside the destination")
                if not (member.isfile() or member.isdir()):
                    raise _refuse(archive, dest, member.name, "is a link or special file")
            for member in members:
                member.mode &= 0o755  # no set-uid / set-gid / sticky bits
            tar.extractall(dest, members=members)
