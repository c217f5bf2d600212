"""Archives and folders read member by member: a zip file (on disk, or an upload spooled to
disk) or a folder, never extracted whole and never held in memory.

Members are named by their path inside the archive with `/` separators; a folder's files
likewise, relative to it. Nothing outside the folder is ever opened (`..`, absolute paths
and links leading out are refused).
"""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Final, Protocol

from fitness.errors import InvalidImport

ZIP_MAGIC: Final = b"PK\x03\x04"
EMPTY_ZIP_MAGIC: Final = b"PK\x05\x06"


class Archive(Protocol):
    """A set of named files, each opened for reading bytes on its own."""

    def names(self) -> list[str]:
        """Every file's name, `/`-separated, in the archive's order (a folder's: sorted)."""
        ...

    def open(self, name: str) -> BinaryIO:
        """The file `name` opened for reading bytes; `KeyError` if there is none."""
        ...

    def size(self, name: str) -> int:
        """The file's size in bytes (uncompressed)."""
        ...

    def close(self) -> None: ...


class ZipArchive:
    """A zip file's members (its directories left out)."""

    def __init__(self, source: str | Path | BinaryIO) -> None:
        try:
            self._zip = zipfile.ZipFile(source)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as error:
            raise InvalidImport(f"the file is not a readable zip archive ({error})") from None
        self._members = {info.filename: info for info in self._zip.infolist() if not info.is_dir()}

    def names(self) -> list[str]:
        return list(self._members)

    def open(self, name: str) -> BinaryIO:
        try:
            return self._zip.open(self._members[name])  # type: ignore[return-value]
        except (zipfile.BadZipFile, NotImplementedError, RuntimeError) as error:
            # A damaged member, an unknown compression method, an encrypted member.
            raise OSError(f"cannot be read from the zip archive ({error})") from None

    def size(self, name: str) -> int:
        return self._members[name].file_size

    def close(self) -> None:
        self._zip.close()


class FolderArchive:
    """A folder's files, at any depth (links leading outside it are left out)."""

    def __init__(self, root: str | Path) -> None:
        self._root = Path(root).resolve()
        self._names: list[str] | None = None

    def names(self) -> list[str]:
        if self._names is None:
            self._names = sorted(self._walk())
        return self._names

    def open(self, name: str) -> BinaryIO:
        return self._path(name).open("rb")

    def size(self, name: str) -> int:
        return self._path(name).stat().st_size

    def close(self) -> None:
        return None

    def _walk(self) -> Iterator[str]:
        for directory, _, files in os.walk(self._root):
            for file_name in files:
                path = Path(directory, file_name)
                if path.is_file() and path.resolve().is_relative_to(self._root):
                    yield path.relative_to(self._root).as_posix()

    def _path(self, name: str) -> Path:
        relative = PurePosixPath(name)
        if relative.is_absolute() or ".." in relative.parts:
            raise KeyError(name)
        path = (self._root / relative).resolve()
        if not path.is_relative_to(self._root) or not path.is_file():
            raise KeyError(name)
        return path


def open_archive(path: str | Path) -> Archive:
    """The zip file or the folder at `path`; `InvalidImport` if it is neither."""
    location = Path(path)
    if location.is_dir():
        return FolderArchive(location)
    if not location.is_file():
        raise InvalidImport(f"{os.fspath(path)!r} is neither a file nor a folder")
    return ZipArchive(location)


def is_zip(stream: BinaryIO) -> bool:
    """Whether the seekable `stream` holds a zip file (it is left at its start)."""
    head = stream.read(4)
    stream.seek(0)
    return head in (ZIP_MAGIC, EMPTY_ZIP_MAGIC)


class CountingReader(io.RawIOBase):
    """`source`, counting the bytes read from it (progress through a member being read)."""

    def __init__(self, source: BinaryIO) -> None:
        super().__init__()
        self._source = source
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self._source.read(len(buffer))
        buffer[: len(data)] = data
        self.bytes_read += len(data)
        return len(data)
