"""Where challenge files are read from: the working copy, a commit, or a zip's contents.

Validation, the sync model and the zip builder read files only through :class:`FileSource`, so
the same code checks a working copy (``validate``, ``watch``), a commit (``push``) and an
uploaded zip (the sandbox).  Paths are POSIX, relative to the challenge root.
"""

from __future__ import annotations

import hashlib
import posixpath
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Protocol


class FileSource(Protocol):
    """Read-only view of a challenge tree."""

    label: str  # for messages: "working copy", "commit 1a2b3c4", "uploaded zip"

    def read(self, path: str) -> bytes | None:
        """The file's bytes, or None when it does not exist or is not a file."""

    def is_file(self, path: str) -> bool: ...

    def list_files(self, prefix: str = "") -> list[str]:
        """Every file below ``prefix`` (a folder path, "" for all), sorted."""

    def file_id(self, path: str) -> str | None:
        """The file's git blob id (sha1 of ``blob <size>\\0<content>``), None when it is not
        a file.  A commit's tree knows it without reading the file."""


def size_of(source: FileSource, path: str) -> int | None:
    """The file's size in bytes if ``source`` knows it without reading the file (the working
    copy, a commit's tree, files in memory), else None: for progress, never for decisions."""
    size = getattr(source, "size", None)
    found = size(path) if callable(size) else None
    return found if isinstance(found, int) else None


def blob_id(data: bytes) -> str:
    """The id git gives a blob with this content."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def normalise(path: str) -> str | None:
    """A path as it names a file below the root, or None when it escapes the root."""
    if not path or path.startswith(("/", "\\")):
        return None
    norm = posixpath.normpath(path.replace("\\", "/"))
    if norm == ".." or norm.startswith("../") or norm.startswith("/"):
        return None
    return norm


def _under(prefix: str, names: Iterable[str]) -> list[str]:
    prefix = prefix.strip("/")
    if not prefix:
        return sorted(names)
    return sorted(n for n in names if n.startswith(prefix + "/"))


class MappingSource:
    """Files held in memory: ``{"challenge_config.yaml": b"...", ...}``."""

    def __init__(self, files: Mapping[str, bytes], label: str = "uploaded zip") -> None:
        self.files = dict(files)
        self.label = label

    def read(self, path: str) -> bytes | None:
        norm = normalise(path)
        return None if norm is None else self.files.get(norm)

    def is_file(self, path: str) -> bool:
        return self.read(path) is not None

    def size(self, path: str) -> int | None:
        data = self.read(path)
        return None if data is None else len(data)

    def list_files(self, prefix: str = "") -> list[str]:
        return _under(prefix, self.files)

    def file_id(self, path: str) -> str | None:
        data = self.read(path)
        return None if data is None else blob_id(data)


class WorkTreeSource:
    """Files as they are on disk below ``root`` (the working copy)."""

    label = "working copy"

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).resolve()

    def _path(self, path: str) -> Path | None:
        norm = normalise(path)
        if norm is None:
            return None
        try:
            full = (self.root / norm).resolve()
        except (RuntimeError, OSError):  # RuntimeError: "Symlink loop" before Python 3.13
            from evalai_mirror.errors import ConfigError

            raise ConfigError(
                "is a symbolic link that leads back to itself (a loop)",
                path=norm,
                hint="replace the link with the file, or point it at a real file",
            ) from None
        if full != self.root and self.root not in full.parents:
            return None  # a link that leads out of the repository
        return full

    def read(self, path: str) -> bytes | None:
        full = self._path(path)
        if full is None or not full.is_file():
            return None
        return full.read_bytes()

    def is_file(self, path: str) -> bool:
        full = self._path(path)
        return full is not None and full.is_file()

    def size(self, path: str) -> int | None:
        full = self._path(path)
        try:
            return full.stat().st_size if full is not None and full.is_file() else None
        except OSError:
            return None

    def list_files(self, prefix: str = "") -> list[str]:
        base = self._path(prefix) if prefix else self.root
        if base is None or not base.is_dir():
            return []
        names = []
        for item in base.rglob("*"):
            rel = item.relative_to(self.root).as_posix()
            if item.is_file() and not rel.startswith(".git/") and rel != ".git":
                if self._inside(item, rel):
                    names.append(rel)
        return sorted(names)

    def _inside(self, item: Path, rel: str) -> bool:
        """Whether ``item`` (found by ``rglob`` under a resolved folder) stays inside the
        repository: ``rglob`` never enters a linked folder, so only a link itself can lead out,
        and only a link needs resolving (a walk of thousands of files stays cheap)."""
        return not item.is_symlink() or self._path(rel) is not None

    def links_out(self, prefix: str = "") -> dict[str, str]:
        """The files below ``prefix`` that are symbolic links leading out of the repository,
        which every listing and the zip leave out (a linked folder is not walked at all):
        path -> where they lead."""
        base = self._path(prefix) if prefix else self.root
        if base is None or not base.is_dir():
            return {}
        found = {}
        for item in base.rglob("*"):
            rel = item.relative_to(self.root).as_posix()
            if rel.startswith(".git/") or not item.is_file() or self._inside(item, rel):
                continue
            found[rel] = str(item.resolve())
        return dict(sorted(found.items()))

    def file_id(self, path: str) -> str | None:
        data = self.read(path)
        return None if data is None else blob_id(data)


class ReadOnce:
    """``source`` with each file read once: a later read returns the same bytes, so one merge
    sees one version of every file even while someone saves them; ``seen`` holds what was read
    (by normalised path, None for a file that was not there), which a writer compares with
    right before it replaces a file."""

    def __init__(self, source: FileSource) -> None:
        self.source = source
        self.label = source.label
        self.seen: dict[str, bytes | None] = {}

    def read(self, path: str) -> bytes | None:
        norm = normalise(path)
        if norm is None:
            return None
        if norm not in self.seen:
            self.seen[norm] = self.source.read(norm)
        return self.seen[norm]

    def is_file(self, path: str) -> bool:
        return self.read(path) is not None

    def list_files(self, prefix: str = "") -> list[str]:
        return self.source.list_files(prefix)

    def file_id(self, path: str) -> str | None:
        norm = normalise(path)
        if norm is None or norm not in self.seen:  # not kept: annotations may be large
            return self.source.file_id(path)
        data = self.seen[norm]
        return None if data is None else blob_id(data)
