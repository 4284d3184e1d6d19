"""Atomic file writes: a reader sees the old file or the new one, never half of either."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

# Called with the target's path once the new content is in its temporary file and before the
# target is compared and replaced (:func:`replace_if_unchanged`): tests hold the writer there,
# to make an editor's save land exactly in that window.  None in normal runs.
before_replace: Callable[[Path], None] | None = None


_UNCHECKED = object()


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, *, mode: int | None = None) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename.

    The file keeps its permission bits when it exists already (``mode`` when it does not).
    """
    _write(Path(path), data, mode, _UNCHECKED)


def replace_if_unchanged(path: str | os.PathLike[str], data: bytes, expected: bytes | None) -> bool:
    """:func:`atomic_write_bytes`, but only while ``path`` still holds ``expected`` (None: does
    not exist): compared right before the rename, after the new content is on disk.  False,
    with nothing written, when the file changed (someone saved it meanwhile)."""
    return _write(Path(path), data, None, expected)


def _current(target: Path) -> bytes | None:
    try:
        return target.read_bytes()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None


def _write(target: Path, data: bytes, mode: int | None, expected: object) -> bool:
    target.parent.mkdir(parents=True, exist_ok=True)
    if mode is None:
        try:
            mode = target.stat().st_mode & 0o7777
        except FileNotFoundError:
            mode = 0o644
    fd, tmp = _temporary(target)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        if expected is not _UNCHECKED:
            if before_replace is not None:
                before_replace(target)
            if _current(target) != expected:
                os.unlink(tmp)
                return False
        os.replace(tmp, target)
        return True
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


_TEMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(
    os, "O_BINARY", 0
)


def _temporary(target: Path) -> tuple[int, Path]:
    """A new empty file beside ``target``, ``.<name>.<8 random hex digits>.tmp``, open for
    writing and readable by this user only, as ``tempfile.mkstemp`` makes it: written here
    because importing tempfile (with shutil and random) costs every command ~4 ms."""
    for _ in range(100):
        path = target.parent / f".{target.name}.{os.urandom(4).hex()}.tmp"
        try:
            return os.open(path, _TEMP_FLAGS, 0o600), path
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name beside {target}")


def remove_stale_temps(target: Path) -> list[Path]:
    """Remove the temporary files that writes of ``target`` left behind when they were killed
    (kill -9 between the temporary file and the rename); the ones removed.  Call it only where
    no other write of ``target`` can be under way (under the state lock)."""
    pattern = re.compile(re.escape(f".{target.name}.") + r"[a-z0-9_]{8}\.tmp")
    removed = []
    try:
        names = os.listdir(target.parent)
    except OSError:
        return []
    for name in names:
        if pattern.fullmatch(name):
            try:
                os.unlink(target.parent / name)
                removed.append(target.parent / name)
            except OSError:
                pass
    return removed


def atomic_write_text(path: str | os.PathLike[str], text: str, *, mode: int | None = None) -> None:
    atomic_write_bytes(path, text.encode("utf-8"), mode=mode)


def cache_dir() -> Path:
    """evalai-mirror's folder in the user's cache (``$XDG_CACHE_HOME`` or ``~/.cache``)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "evalai-mirror"
