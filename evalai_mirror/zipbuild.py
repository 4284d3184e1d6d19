"""The challenge zip that EvalAI's zip endpoints take, built as EvalAI-Starters builds it.

Everything in the tree goes in except what EvalAI-Starters leaves out (folders ``.git``,
``.github``, ``github`` — which holds the token file —, ``code_upload_challenge_evaluation``,
``remote_challenge_evaluation`` at any depth; files ``.gitignore``, ``challenge_config.zip``,
``README.md``, ``run.sh``, ``submission.json`` at any depth).  ``evaluation_script/`` is replaced
by ``evaluation_script.zip`` at the root, which holds that folder's contents at its own root
(a repository without that folder may commit ``evaluation_script.zip`` itself).

The bytes are deterministic: sorted names, one fixed timestamp, fixed permissions, so the same
tree always gives the same zip (and the same digest).  What is uploaded is written to a temporary
file as it is built (:func:`challenge_zip_file`), never held whole in memory.
"""

from __future__ import annotations

import io
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO

from evalai_mirror import progress
from evalai_mirror.progress import Advance
from evalai_mirror.source import FileSource, size_of

IGNORE_DIRS = frozenset(
    {
        ".git",
        ".github",
        "github",
        "code_upload_challenge_evaluation",
        "remote_challenge_evaluation",
    }
)
IGNORE_FILES = frozenset(
    {".gitignore", "challenge_config.zip", "README.md", "run.sh", "submission.json"}
)
EVALUATION_SCRIPT_DIR = "evaluation_script"
EVALUATION_SCRIPT_ZIP = "evaluation_script.zip"

_TIMESTAMP = (1980, 1, 1, 0, 0, 0)
_FILE_MODE = 0o644
_ZIP64_LIMIT = (1 << 31) - 1 - (1 << 20)  # past this a member needs zip64 headers


def included(path: str) -> bool:
    """Whether ``path`` (relative to the challenge root) goes into the challenge zip as is."""
    parts = path.split("/")
    if any(part in IGNORE_DIRS for part in parts[:-1]):
        return False
    if parts[-1] in IGNORE_FILES:
        return False
    if parts[0] == EVALUATION_SCRIPT_DIR and len(parts) > 1:
        return False
    return path != EVALUATION_SCRIPT_ZIP


# One entry of a zip: its name, its size when known (for progress), and how to read it.
_Entry = tuple[str, int | None, Callable[[], bytes]]
_CHUNK = 1 << 20  # bytes compressed at a time: progress moves within a large file


def _write(entries: list[_Entry], out: IO[bytes], advance: Advance) -> None:
    """Write the zip of ``entries`` to ``out``.  Each file is read only when it is written and
    compressed a chunk at a time, so that at most one file (never the zip) is in memory:
    annotation files can be large."""
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, _size, read in sorted(entries, key=lambda entry: entry[0]):
            data = read()
            info = zipfile.ZipInfo(name, date_time=_TIMESTAMP)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # unix, so that the permission bits below are read
            info.external_attr = (0o100000 | _FILE_MODE) << 16
            info.file_size = len(data)
            with archive.open(info, "w", force_zip64=len(data) > _ZIP64_LIMIT) as dest:
                view = memoryview(data)
                for start in range(0, len(data), _CHUNK):
                    dest.write(view[start : start + _CHUNK])
                    advance(min(_CHUNK, len(data) - start))


def _zip(entries: list[_Entry]) -> bytes:
    buffer = io.BytesIO()
    _write(entries, buffer, lambda _count: None)
    return buffer.getvalue()


def _entry(source: FileSource, path: str, name: str | None = None) -> _Entry:
    def read() -> bytes:
        data = source.read(path)
        # Listed but gone (a race with the working copy): written as an empty file.
        return b"" if data is None else data

    return (path if name is None else name, size_of(source, path), read)


def build_evaluation_script_zip(source: FileSource) -> bytes:
    """``evaluation_script.zip``: the files of ``evaluation_script/``, paths relative to it."""
    prefix = EVALUATION_SCRIPT_DIR + "/"
    return _zip(
        [
            _entry(source, path, path[len(prefix) :])
            for path in source.list_files(EVALUATION_SCRIPT_DIR)
        ]
    )


def _challenge_entries(source: FileSource) -> list[_Entry]:
    entries = [_entry(source, path) for path in source.list_files() if included(path)]
    # Without an evaluation_script/ folder, a committed evaluation_script.zip is used as is.
    has_folder = bool(source.list_files(EVALUATION_SCRIPT_DIR))
    committed = None if has_folder else source.read(EVALUATION_SCRIPT_ZIP)
    if has_folder or committed is not None:  # neither: EvalAI says there is no script
        script = build_evaluation_script_zip(source) if committed is None else committed
        entries.append((EVALUATION_SCRIPT_ZIP, len(script), lambda: script))
    return entries


def build_challenge_zip(source: FileSource) -> bytes:
    """The whole challenge zip (``challenge_config.yaml`` and everything it needs), in memory:
    for checks and tests.  What is uploaded is :func:`challenge_zip_file`."""
    return _zip(_challenge_entries(source))


@contextmanager
def challenge_zip_file(source: FileSource) -> Iterator[IO[bytes]]:
    """The challenge zip (the same bytes as :func:`build_challenge_zip`) in a temporary file,
    open for reading from its start, removed when the block ends.  The zip is written there as
    it is built, never held in memory; a long build shows its progress (bytes read of the
    files that go in)."""
    entries = _challenge_entries(source)
    total = sum(size or 0 for _name, size, _read in entries)
    with tempfile.TemporaryFile(prefix="evalai-mirror-", suffix=".zip") as out:
        with progress.meter("building the challenge zip", total) as advance:
            _write(entries, out, advance)
        out.seek(0)
        yield out
